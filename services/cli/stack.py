"""Start and stop the three services as real uvicorn processes (used by `smefin run` and tests)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from services.credit.config import CreditSettings
from services.gateway.config import GatewaySettings
from services.matching.config import MatchingSettings
from shared.migrations import upgrade_to_head

SERVICES = ("credit", "matching", "gateway")
APPS = {
    "credit": "services.credit.app:create_app",
    "matching": "services.matching.app:create_app",
    "gateway": "services.gateway.app:create_app",
}
MIGRATIONS = {
    name: Path(__file__).resolve().parent.parent / name / "migrations" for name in SERVICES
}


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def database_urls() -> dict[str, str]:
    """Each service's database URL as its settings resolve it from the environment."""
    return {
        "credit": CreditSettings().database_url,
        "matching": MatchingSettings().database_url,
        "gateway": GatewaySettings().database_url,
    }


def migrate_all(urls: dict[str, str] | None = None) -> None:
    """Apply every service's migrations to its database."""
    for name, url in (urls or database_urls()).items():
        upgrade_to_head(MIGRATIONS[name], url)


@dataclass
class Stack:
    """Running service processes and where to reach them."""

    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """Base URL of a service."""
        return f"http://127.0.0.1:{self.ports[service]}"


def service_env(base: dict[str, str], ports: dict[str, int]) -> dict[str, str]:
    """Environment that wires the services to each other's ports."""
    env = dict(base)
    env["SMEFIN_CREDIT_PORT"] = str(ports["credit"])
    env["SMEFIN_MATCHING_PORT"] = str(ports["matching"])
    env["SMEFIN_GATEWAY_PORT"] = str(ports["gateway"])
    env["SMEFIN_MATCHING_CREDIT_URL"] = f"http://127.0.0.1:{ports['credit']}"
    env["SMEFIN_GATEWAY_CREDIT_URL"] = f"http://127.0.0.1:{ports['credit']}"
    env["SMEFIN_GATEWAY_MATCHING_URL"] = f"http://127.0.0.1:{ports['matching']}"
    return env


def start_process(
    stack: Stack, service: str, env: dict[str, str], log_dir: Path | None, name: str | None = None
) -> None:
    """Start one service process (uvicorn, uvloop and httptools) under a name."""
    name = name or service
    port = stack.ports[name]
    out: IO[bytes] | int = subprocess.DEVNULL
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        out = stack.logs[name] = (log_dir / f"{name}.log").open("ab")
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        APPS[service],
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    ]
    stack.procs[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(stack: Stack, timeout_s: float = 90.0) -> None:
    """Wait until every process answers /readyz; raise with the process that failed."""
    deadline = time.monotonic() + timeout_s
    pending = set(stack.procs)
    with httpx.Client(timeout=1.0) as client:
        while pending:
            for name in list(pending):
                proc = stack.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {proc.returncode}")
                try:
                    if client.get(f"{stack.url(name)}/readyz").status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {', '.join(sorted(pending))}")
            if pending:
                time.sleep(0.1)


def start_stack(
    env: dict[str, str], ports: dict[str, int] | None = None, log_dir: Path | None = None
) -> Stack:
    """Start credit, matching and gateway (credit first: matching and gateway call it)."""
    stack = Stack(ports=ports or {s: free_port() for s in SERVICES}, log_dir=log_dir)
    stack.env = service_env(env, stack.ports)
    try:
        for service in SERVICES:
            start_process(stack, service, stack.env, log_dir)
        wait_ready(stack)
    except BaseException:
        stop_stack(stack)
        raise
    return stack


def restart_process(stack: Stack, name: str) -> None:
    """Start a stopped service of the stack again, with the environment it first had."""
    stack.procs.pop(name, None)
    log = stack.logs.pop(name, None)
    if log is not None:
        log.close()
    start_process(stack, name, stack.env, stack.log_dir)
    wait_ready(stack)


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not go."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def stop_stack(stack: Stack) -> None:
    """Stop every process of the stack and close its logs."""
    for proc in stack.procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in stack.procs.values():
        stop_process(proc)
    for log in stack.logs.values():
        log.close()
