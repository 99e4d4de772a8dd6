"""Fault tests with real processes: a service down, the database down, and recovery."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from services.cli import stack as stack_mod
from services.cli.client import SmefinClient
from tests.conftest import PG_ADMIN_URL
from tests.e2e.conftest import LiveStack, drop_databases, live_stack, stack_databases
from tests.fault.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e
__all__ = ["live_stack"]  # the module-scoped stack fixture, shared with tests/e2e


def _platform(live: LiveStack) -> str:
    with SmefinClient(live.gateway, live.admin_key) as admin:
        org = admin.create_org(f"Fault Mall {secrets.token_hex(3)}", "platform")
        key = admin.create_key(org["id"])["token"]
    with SmefinClient(live.gateway, key) as plat:
        plat.request("PUT", "/v1/firms/f-1", {"industry": "retail", "region_code": "330106"})
    return key


def test_matching_down_gives_fast_503_and_credit_still_works(live_stack: LiveStack) -> None:
    key = _platform(live_stack)
    auth = {"Authorization": f"Bearer {key}"}
    proc = live_stack.stack.procs["matching"]
    stack_mod.stop_process(proc)
    try:
        with httpx.Client(base_url=live_stack.gateway, timeout=10) as http:
            started = time.monotonic()
            r = http.post(
                "/v1/applications",
                json={"firm_ref": "f-1", "amount_cny": "1000", "term_months": 3},
                headers=auth,
            )
            elapsed = time.monotonic() - started
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["retry-after"]) >= 1
            assert elapsed < 1.0
            assert http.get("/v1/firms/f-1", headers=auth).status_code == 200
    finally:
        stack_mod.restart_process(live_stack.stack, "matching")


@pytest.fixture
def stack_behind_db_proxy(tmp_path: Path, model_dir: Path) -> Iterator[tuple[LiveStack, TcpProxy]]:
    """A stack whose services reach PostgreSQL through a proxy the test can cut."""
    if not PG_ADMIN_URL:
        pytest.skip("needs PostgreSQL: set SMEFIN_TEST_DATABASE_URL")
    urls, names = stack_databases(tmp_path)
    stack_mod.migrate_all(urls)
    pg = make_url(PG_ADMIN_URL)
    proxy = TcpProxy(pg.host or "127.0.0.1", pg.port or 5432)
    proxied = {
        s: make_url(u).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        for s, u in urls.items()
    }
    admin_key = "smf_admin_" + secrets.token_urlsafe(24)
    secret = secrets.token_urlsafe(32)
    env = dict(os.environ)
    env.update(
        SMEFIN_ENV="test",
        SMEFIN_ADMIN_KEY=admin_key,
        SMEFIN_INTERNAL_SECRET=secret,
        SMEFIN_CREDIT_MODEL_DIR=str(model_dir),
        **{f"SMEFIN_{s.upper()}_DATABASE_URL": u for s, u in proxied.items()},
    )
    running = stack_mod.start_stack(env, log_dir=tmp_path / "logs")
    try:
        yield LiveStack(running, admin_key, secret, tmp_path / "logs"), proxy
    finally:
        stack_mod.stop_stack(running)
        proxy.close()
        drop_databases(names)


def test_database_down_gives_503_then_recovers_without_restart(
    stack_behind_db_proxy: tuple[LiveStack, TcpProxy],
) -> None:
    live, proxy = stack_behind_db_proxy
    key = _platform(live)
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=live.gateway, timeout=15) as http:
        assert http.get("/v1/firms/f-1", headers=auth).status_code == 200
        proxy.cut()
        r = http.get("/v1/firms/f-1/metrics", headers=auth)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) >= 1
        assert http.get(live.stack.url("credit") + "/readyz").status_code == 503
        proxy.restore()
        deadline = time.monotonic() + 15
        while True:
            r = http.get("/v1/firms/f-1/metrics", headers=auth)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.status_code == 200, r.text
        assert all(p.poll() is None for p in live.stack.procs.values())
