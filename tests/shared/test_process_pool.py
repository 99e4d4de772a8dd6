"""Worker pools: sized to the CPUs a container may use, started once, usable before they are up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from shared import process_pool
from shared.process_pool import LazyProcessPool, usable_cpus

pytestmark = pytest.mark.backend_free


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000\n", None), ("200000 100000\n", 2), ("150000 100000\n", 2), ("5000 100000", 1)],
)
def test_workers_default_to_the_cpu_quota_of_the_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str, expected: int | None
) -> None:
    cores = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text(cpu_max)
    monkeypatch.setattr(process_pool, "CGROUP_CPU_MAX", tmp_path / "cpu.max")
    assert usable_cpus() == (cores if expected is None else min(cores, expected))
    monkeypatch.setattr(process_pool, "CGROUP_CPU_MAX", tmp_path / "absent")
    assert usable_cpus() == cores


def test_a_pool_reports_started_only_once_its_workers_have_imported() -> None:
    pool = LazyProcessPool("test", modules=["json"])
    assert pool.started(0) is None and pool.get(0) is None
    assert pool.started(1) is None  # starting in the background: the caller goes on
    deadline = time.monotonic() + 60
    while (executor := pool.started(1)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert executor is pool.get(1)
    assert executor.submit(os.getpid).result(timeout=30) != os.getpid()
    pool.reset(executor)
    assert pool.started(1) is None  # a reset pool starts anew
    deadline = time.monotonic() + 60
    while (fresh := pool.started(1)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert fresh is not executor
    pool.reset(fresh)
    made = pool.get(1)  # made by get(): started() still brings its workers up
    deadline = time.monotonic() + 60
    while pool.started(1) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pool.started(1) is made
    assert made is not None
    made.shutdown()
