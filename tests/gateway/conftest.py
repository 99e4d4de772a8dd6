"""Gateway fixtures: real credit and matching processes (once per session), the gateway served by
uvicorn in a thread of the test process (so tests can also look at its state), and Redis when
SMEFIN_TEST_REDIS_URL is set (each test under its own key prefix, removed afterwards)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from services.cli import stack as stack_mod
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from shared.migrations import upgrade_to_head
from tests.conftest import PG_ADMIN_URL, TEST_SECRET, _pg_conninfo

ADMIN_KEY = "smf_admin_test_" + "x" * 24
REDIS_URL = os.environ.get("SMEFIN_TEST_REDIS_URL", "")


@pytest.fixture(scope="session")
def services_stack(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> Iterator[stack_mod.Stack]:
    """Credit and matching as real uvicorn processes on their own databases."""
    work = tmp_path_factory.mktemp("svc")
    created: list[str] = []
    urls: dict[str, str] = {}
    for service in ("credit", "matching"):
        if PG_ADMIN_URL:
            name = f"smefin_t_{service}_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            created.append(name)
            urls[service] = (
                make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            )
        else:
            urls[service] = f"sqlite:///{work / f'{service}.db'}"
        upgrade_to_head(stack_mod.MIGRATIONS[service], urls[service])
    ports = {s: stack_mod.free_port() for s in stack_mod.SERVICES}
    env = dict(os.environ)
    env.update(
        SMEFIN_INTERNAL_SECRET=TEST_SECRET,
        # INFO: the access lines are what test_observability reads for request ids.
        SMEFIN_LOG_LEVEL="INFO",
        SMEFIN_ENV="test",
        SMEFIN_CREDIT_MODEL_DIR=str(model_dir),
        SMEFIN_CREDIT_DATABASE_URL=urls["credit"],
        SMEFIN_MATCHING_DATABASE_URL=urls["matching"],
    )
    env = stack_mod.service_env(env, ports)
    stack = stack_mod.Stack(ports=ports)
    try:
        for service in ("credit", "matching"):
            stack_mod.start_process(stack, service, env, work / "logs")
        stack_mod.wait_ready(stack, timeout_s=240)
        yield stack
    finally:
        stack_mod.stop_stack(stack)
        if created:
            with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
                for name in created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (never FLUSHALL)."""
    prefix = f"smefin:test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    if REDIS_URL:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def gateway_settings(
    make_database: Callable[[str], str], redis_prefix: str
) -> Callable[..., GatewaySettings]:
    """Factory of gateway settings on one database per test (call again for a second replica)."""
    url = make_database("gateway")

    def make(**over: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "database_url": url,
            "internal_secret": TEST_SECRET,
            "admin_key": ADMIN_KEY,
            "env": "test",
            "log_json": False,
            "log_level": "WARNING",
            "credit_url": f"http://127.0.0.1:{stack_mod.free_port()}",
            "matching_url": f"http://127.0.0.1:{stack_mod.free_port()}",
            "redis_url": REDIS_URL or None,
            "redis_prefix": redis_prefix,
            "webhook_allowed_hosts": ["127.0.0.1"],
            "event_poll_s": 0.2,
            "webhook_poll_s": 0.2,
            "audit_flush_s": 0.1,
        }
        values.update(over)
        return GatewaySettings(**values)

    return make


@dataclass
class RunningGateway:
    """A gateway served by uvicorn in a thread."""

    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, key: str | None = None, **kw: Any) -> httpx.Client:
        """An HTTP client, with a bearer key when given."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def admin(self) -> httpx.Client:
        """A client holding the bootstrap admin key."""
        return self.client(ADMIN_KEY)

    def stop(self) -> None:
        """Shut the server down (runs the lifespan's shutdown)."""
        self.server.should_exit = True
        self.thread.join(15)

    def new_org(self, kind: str, scopes: list[str] | None = None, **key: Any) -> tuple[str, str]:
        """A new organisation and a key: (org id, token)."""
        with self.admin() as admin:
            org = admin.post("/v1/organizations", json={"name": f"{kind} co", "kind": kind})
            assert org.status_code == 201, org.text
            body: dict[str, Any] = {"name": "test", **key}
            if scopes is not None:
                body["scopes"] = scopes
            made = admin.post(f"/v1/organizations/{org.json()['id']}/api-keys", json=body)
            assert made.status_code == 201, made.text
            return org.json()["id"], made.json()["token"]


def serve(settings: GatewaySettings) -> RunningGateway:
    """Start a gateway in a thread and wait until it answers."""
    port = stack_mod.free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("gateway did not start")
        time.sleep(0.02)
    return RunningGateway(f"http://127.0.0.1:{port}", app, server, thread)


@pytest.fixture
def start_gateway(
    gateway_settings: Callable[..., GatewaySettings],
) -> Iterator[Callable[..., RunningGateway]]:
    """Factory: start a gateway replica (all on the same database); stopped after the test."""
    running: list[RunningGateway] = []

    def start(**over: Any) -> RunningGateway:
        gw = serve(gateway_settings(**over))
        running.append(gw)
        return gw

    yield start
    for gw in running:
        gw.stop()


@pytest.fixture
def gateway(start_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    """One gateway whose upstreams do not exist (for the gateway's own routes)."""
    return start_gateway()


@pytest.fixture
def full_gateway(
    start_gateway: Callable[..., RunningGateway], services_stack: stack_mod.Stack
) -> RunningGateway:
    """One gateway in front of the real credit and matching processes."""
    return start_gateway(
        credit_url=services_stack.url("credit"), matching_url=services_stack.url("matching")
    )


def wait_for(check: Callable[[], Any], timeout_s: float = 15.0, every_s: float = 0.1) -> Any:
    """Poll until `check` returns something truthy; fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(every_s)
