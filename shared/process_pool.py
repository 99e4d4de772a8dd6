"""Process pools started lazily, once per process, whose workers leave when their parent does.

Python threads share one interpreter lock: a CPU-bound half of a request (validating NDJSON,
scoring a chunk of firms) overlaps the other half only in another process. Workers come from
the process's forkserver (never a fork of a threaded server); each imports its pool's modules
before its first task and exits once its parent is gone. A service may start its pools at boot
(`started`, in the background) so that its first job or upload does not wait for them.
"""

from __future__ import annotations

import atexit
import importlib
import math
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

from prometheus_client import Gauge
from sqlalchemy.engine import Engine

from shared.db import make_engine

PARENT_POLL_S = 1.0
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
POOL_WORKERS = Gauge(
    "smefin_process_pool_workers", "Worker processes of a pool once it is up, by pool", ["pool"]
)
# The modules of every pool made in this process: the one forkserver imports them all.
_POOL_MODULES: list[str] = []


def usable_cpus() -> int:
    """CPUs this process may run on, capped by a container's CPU quota (cgroup v2), at least 1.

    The affinity mask shows every core of the node; a pod limited to 2 CPUs still gets only
    2 CPUs' worth of time, and a worker per node core would only cost memory.
    """
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 CPU controller here: the affinity mask is the limit
    return max(cpus, 1)


class LazyProcessPool:
    """One ProcessPoolExecutor per process, made on first use, whose workers import `modules`."""

    def __init__(self, name: str, modules: list[str]) -> None:
        self.name = name
        self.modules = modules
        _POOL_MODULES.extend(m for m in modules if m not in _POOL_MODULES)
        self._executor: ProcessPoolExecutor | None = None
        self._starting: ProcessPoolExecutor | None = None
        self._started: ProcessPoolExecutor | None = None
        self._up = 0
        self._lock = threading.Lock()

    def get(self, workers: int) -> ProcessPoolExecutor | None:
        """The running pool (started with `workers` processes), or None when workers is 0."""
        if workers <= 0:
            return None
        with self._lock:
            return self._get(workers)

    def _get(self, workers: int) -> ProcessPoolExecutor:
        if self._executor is None:
            ctx = multiprocessing.get_context("forkserver")
            # One forkserver serves every pool of the process, whichever starts it first: it
            # imports every pool's modules once, so the workers of each fork ready (a service
            # starts its pools together at boot). "__main__" imports the main script there
            # once instead of in every worker (as __mp_main__: a script using a pool keeps its
            # work under `if __name__ == "__main__"`, as multiprocessing requires of any
            # script that starts processes).
            ctx.set_forkserver_preload(["__main__", __name__, *_POOL_MODULES])
            self._executor = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=start_worker,
                initargs=(os.getpid(), self.modules),
            )
            atexit.register(self._executor.shutdown, wait=False, cancel_futures=True)
        return self._executor

    def started(self, workers: int) -> ProcessPoolExecutor | None:
        """The pool once its workers are up; until then None, while a thread starts them.

        Starting a pool takes a second or two (the forkserver and the workers import their
        modules) and blocks whoever submits first: a caller with work of its own does it
        meanwhile.
        """
        if workers <= 0:
            return None
        with self._lock:
            executor = self._get(workers)
            if self._started is executor:
                return executor
            if self._starting is executor:
                return None
            self._starting = executor
        threading.Thread(
            target=self._start, args=(executor, workers), name="pool-start", daemon=True
        ).start()
        return None

    def ready(self, workers: int) -> ProcessPoolExecutor | None:
        """The pool with every worker started, waiting for them if need be; None when 0.

        For callers with nothing to do meanwhile (an upload needs its workers at once).
        """
        if workers <= 0:
            return None
        with self._lock:
            executor = self._get(workers)
            if self._started is executor:
                return executor
        self._start(executor, workers)
        return executor

    def workers_up(self) -> int:
        """Workers of the pool started and ready (0 while it starts or before first use)."""
        with self._lock:
            return self._up

    def _start(self, executor: ProcessPoolExecutor, workers: int) -> None:
        up = 0
        try:
            # Each task submitted while no worker is idle starts one more process.
            done, _ = wait([executor.submit(os.getpid) for _ in range(workers)])
            up = sum(1 for f in done if f.exception() is None)
        except Exception:  # noqa: S110 - a broken pool is reported by the caller's next submit
            pass
        finally:
            with self._lock:
                if self._executor is executor:
                    self._started = executor
                    self._up = up
                    POOL_WORKERS.labels(self.name).set(up)

    def reset(self, broken: ProcessPoolExecutor) -> None:
        """Forget a pool whose worker died (killed, out of memory): the next use starts anew."""
        with self._lock:
            if self._executor is broken:
                self._executor = self._starting = self._started = None
                self._up = 0
                POOL_WORKERS.labels(self.name).set(0)
        broken.shutdown(wait=False, cancel_futures=True)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The state follows the command name in parentheses; Z is a zombie: gone.
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (FileNotFoundError, IndexError):
        return False


def start_worker(parent_pid: int, modules: list[str]) -> None:
    """(In a new worker) watch the parent, and import the pool's modules before any task."""
    watch_parent(parent_pid)
    for name in modules:
        importlib.import_module(name)


def watch_parent(pid: int) -> None:
    """(In a worker) exit once the parent process is gone, however it went (even SIGKILL).

    A pool worker holds both ends of its task pipe, so it never sees the parent leave; and
    the forkserver lives as long as any worker does. Without this they would be orphans.
    """

    def watch() -> None:
        while _alive(pid):
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# Worker-process state: engines of the databases recently worked on, oldest dropped first.
_engines: dict[str, Engine] = {}
RECENT_DATABASES = 4


def worker_engine(url: str) -> Engine:
    """(In a worker) an engine of the database at `url`, made once and kept for later tasks."""
    engine = _engines.get(url)
    if engine is None:
        while len(_engines) >= RECENT_DATABASES:
            _engines.pop(next(iter(_engines))).dispose()
        engine = _engines[url] = make_engine(url, pool_size=2)
    return engine
