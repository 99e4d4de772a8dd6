"""Two replicas of each service on PostgreSQL, one killed mid-load: no acknowledged write lost."""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from services.cli import stack as stack_mod
from services.cli.client import SmefinClient
from services.credit.generator import GeneratorParams, simulate
from shared.settings import VAR_DIR
from tests.conftest import PG_ADMIN_URL
from tests.e2e.conftest import drop_databases, stack_databases
from tests.fault.balancer import RoundRobinBalancer
from tests.fault.load import LoadReport, run_load

pytestmark = pytest.mark.e2e
LOAD_SECONDS = float(os.environ.get("SMEFIN_LOAD_SECONDS", "60"))
REPORT_FILE = VAR_DIR / "loadtest" / "replicas.json"


@pytest.fixture
def replicated(tmp_path: Path, model_dir: Path) -> Iterator[tuple[stack_mod.Stack, list[str], str]]:
    """2 credit, 2 matching behind balancers, 2 gateways; PostgreSQL (and Redis if set)."""
    if not PG_ADMIN_URL:
        pytest.skip("replicas run on PostgreSQL: set SMEFIN_TEST_DATABASE_URL")
    urls, names = stack_databases(tmp_path)
    stack_mod.migrate_all(urls)
    admin_key = "smf_admin_" + secrets.token_urlsafe(24)
    env = dict(os.environ)
    env.update(
        SMEFIN_ENV="test",
        SMEFIN_ADMIN_KEY=admin_key,
        SMEFIN_INTERNAL_SECRET=secrets.token_urlsafe(32),
        SMEFIN_CREDIT_MODEL_DIR=str(model_dir),
        SMEFIN_LOG_LEVEL="WARNING",
        **{f"SMEFIN_{s.upper()}_DATABASE_URL": u for s, u in urls.items()},
    )
    if os.environ.get("SMEFIN_TEST_REDIS_URL"):
        env["SMEFIN_REDIS_URL"] = os.environ["SMEFIN_TEST_REDIS_URL"]
    names_by_service = {s: [f"{s}-1", f"{s}-2"] for s in stack_mod.SERVICES}
    ports = {n: stack_mod.free_port() for ns in names_by_service.values() for n in ns}
    running = stack_mod.Stack(ports=ports, env=env, log_dir=tmp_path / "logs")
    balancers: list[RoundRobinBalancer] = []
    try:
        for name in names_by_service["credit"]:
            stack_mod.start_process(running, "credit", env, running.log_dir, name=name)
        stack_mod.wait_ready(running)
        credit_lb = RoundRobinBalancer(
            [("127.0.0.1", ports[n]) for n in names_by_service["credit"]]
        )
        balancers.append(credit_lb)
        wired = dict(
            env,
            SMEFIN_MATCHING_CREDIT_URL=credit_lb.url,
            SMEFIN_GATEWAY_CREDIT_URL=credit_lb.url,
        )
        for name in names_by_service["matching"]:
            stack_mod.start_process(running, "matching", wired, running.log_dir, name=name)
        stack_mod.wait_ready(running)
        matching_lb = RoundRobinBalancer(
            [("127.0.0.1", ports[n]) for n in names_by_service["matching"]]
        )
        balancers.append(matching_lb)
        wired["SMEFIN_GATEWAY_MATCHING_URL"] = matching_lb.url
        for name in names_by_service["gateway"]:
            stack_mod.start_process(running, "gateway", wired, running.log_dir, name=name)
        stack_mod.wait_ready(running)
        gateways = [running.url(n) for n in names_by_service["gateway"]]
        yield running, gateways, admin_key
    finally:
        stack_mod.stop_stack(running)
        for lb in balancers:
            lb.close()
        drop_databases(names)


def test_replica_killed_mid_load_loses_no_acknowledged_write(
    replicated: tuple[stack_mod.Stack, list[str], str],
) -> None:
    running, gateways, admin_key = replicated
    with SmefinClient(gateways[0], admin_key) as admin:
        platform = admin.create_org("Load Mall", "platform")
        lender = admin.create_org("Load Bank", "lender")
        pkey = admin.create_key(platform["id"])["token"]
        lkey = admin.create_key(lender["id"])["token"]
    with SmefinClient(gateways[1], lkey) as lend:
        lend.request(
            "PUT",
            "/v1/profile",
            {
                "lender_kind": "bank",
                "name": "Load Bank",
                "net_assets_cny": "1000000000",
                "lending_budget_cny": "100000000",
            },
        )
        lend.request(
            "POST",
            "/v1/loan-products",
            {
                "name": "Load loan",
                "min_amount_cny": "1000",
                "max_amount_cny": "100000",
                "min_term_months": 1,
                "max_term_months": 12,
                "base_rate": "0.05",
                "risk_premium_per_pd": "1",
                "max_rate": "0.24",
                "max_pd": "0.99",
            },
        )
    seed_firms = []
    params = GeneratorParams(median_monthly_sales=3000.0, sales_sigma=0.0)
    with SmefinClient(gateways[0], pkey) as plat:
        for firm in simulate(4, seed=5, params=params):
            ref = f"seed-{firm.index}"
            plat.request("PUT", f"/v1/firms/{ref}", {"industry": "retail", "region_code": "330106"})
            rows = [{k: v for k, v in r.items() if k != "firm_ref"} for r in firm.transactions(ref)]
            plat.request("POST", f"/v1/firms/{ref}/transactions", rows[:10_000])
            seed_firms.append(ref)

    _idempotency_and_rate_limits_hold_across_gateways(gateways, admin_key, pkey)

    victim = running.procs["credit-1"]
    report = run_load(
        gateways,
        pkey,
        duration_s=LOAD_SECONDS,
        workers=8,
        seed_firms=seed_firms,
        at_half=lambda: victim.send_signal(signal.SIGKILL),
    )
    summary = report.summary()
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text(json.dumps(summary, indent=2))
    print("load report:", json.dumps(summary))
    assert victim.wait(5) == -signal.SIGKILL

    lost = _read_back(gateways, pkey, report)
    assert not lost, f"{len(lost)} acknowledged writes not found: {lost[:10]}"
    assert report.requests > 100
    assert report.acked_txn_batches and report.acked_firms
    # Only requests in flight on the killed replica may fail.
    assert summary["error_rate"] < 0.05, summary


def _read_back(gateways: list[str], pkey: str, report: LoadReport) -> list[str]:
    """Every acknowledged write read back, alternately through both gateways, eight requests
    at a time: what is missing (a firm or application not found, a batch not all duplicates)."""

    def firm(i: int, ref: str) -> str | None:
        found = http.get(f"{gateways[i % 2]}/v1/firms/{ref}")
        return None if found.status_code == 200 else f"firm {ref}: {found.status_code}"

    def batch(i: int, ref: str, rows: list[dict[str, object]]) -> str | None:
        again = http.post(f"{gateways[i % 2]}/v1/firms/{ref}/transactions", json=rows).json()
        whole = again.get("duplicates") == len(rows) and again.get("inserted") == 0
        return None if whole else f"transactions of {ref}: {again}"

    def application(i: int, app_id: str) -> str | None:
        found = http.get(f"{gateways[i % 2]}/v1/applications/{app_id}")
        return None if found.status_code == 200 else f"application {app_id}: {found.status_code}"

    headers = {"Authorization": f"Bearer {pkey}"}
    with httpx.Client(headers=headers, timeout=30) as http, ThreadPoolExecutor(8) as pool:
        checks = [pool.submit(firm, i, ref) for i, ref in enumerate(report.acked_firms)]
        checks += [
            pool.submit(batch, i, ref, rows)
            for i, (ref, rows) in enumerate(report.acked_txn_batches)
        ]
        checks += [
            pool.submit(application, i, app) for i, app in enumerate(report.acked_applications)
        ]
        return [problem for check in checks if (problem := check.result()) is not None]


def _idempotency_and_rate_limits_hold_across_gateways(
    gateways: list[str], admin_key: str, pkey: str
) -> None:
    # The same Idempotency-Key through the other gateway replays the first answer.
    body = {"industry": "retail", "region_code": "330106"}
    with httpx.Client(headers={"Authorization": f"Bearer {pkey}"}, timeout=30) as http:
        rows = [
            {
                "txn_id": "idem-1",
                "type": "sale",
                "occurred_at": "2026-05-01T10:00:00+08:00",
                "amount": "9.90",
                "currency": "CNY",
            }
        ]
        http.put(f"{gateways[0]}/v1/firms/idem-firm", json=body)
        key = {"Idempotency-Key": secrets.token_hex(8)}
        url = "/v1/firms/idem-firm/transactions"
        first = http.post(gateways[0] + url, json=rows, headers=key)
        again = http.post(gateways[1] + url, json=rows, headers=key)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json() and first.json()["inserted"] == 1
        assert again.headers.get("idempotency-replayed") == "true"
        other = http.post(gateways[1] + url, json=rows + rows, headers=key)
        assert other.status_code == 422
    if not os.environ.get("SMEFIN_TEST_REDIS_URL"):
        return  # without Redis each gateway keeps its own buckets, by design
    # One bucket for a key, whichever gateway serves it: burst 5, refilled at 0.2 per second.
    with SmefinClient(gateways[0], admin_key) as admin:
        org = admin.create_org("Limited Mall", "platform")
        limited = admin.create_key(org["id"])["token"]
        admin.request(
            "PUT",
            f"/v1/organizations/{org['id']}/limits",
            {"rate_limit_per_s": 0.2, "rate_limit_burst": 5},
        )
    with httpx.Client(headers={"Authorization": f"Bearer {limited}"}, timeout=30) as http:
        statuses = [http.get(f"{gateways[i % 2]}/v1/firms").status_code for i in range(16)]
    assert statuses.count(200) <= 6, statuses
    assert statuses.count(429) >= 10, statuses
