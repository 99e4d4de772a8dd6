"""A full run leaves no API key, secret or raw buyer reference in any log line.

The real stack (three uvicorn processes, production settings, real secrets) serves a platform's
whole flow and a series of mistakes and attacks; then every log file is searched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from services.cli import stack as stack_mod
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def buyer() -> str:
    """A raw buyer reference that cannot occur in a log by chance."""
    return f"buyer-{secrets.token_hex(8)}"


def sale(txn_id: str, buyer_ref: str, month: int, **over: object) -> dict[str, object]:
    """One sale row."""
    row: dict[str, object] = {
        "txn_id": txn_id,
        "type": "sale",
        "occurred_at": f"2026-{month:02d}-15T10:00:00+08:00",
        "amount": "120.50",
        "currency": "CNY",
        "order_ref": f"order-{txn_id}",
        "buyer_ref": buyer_ref,
    }
    row.update(over)
    return row


class Run:
    """A running stack, its secrets and everything sensitive the flow sends."""

    def __init__(self, stack: stack_mod.Stack, log_dir: Path, sensitive: dict[str, str]) -> None:
        self.stack = stack
        self.log_dir = log_dir
        self.sensitive = sensitive

    def client(self, token: str | None, service: str = "gateway") -> httpx.Client:
        """An HTTP client of one service, with a bearer token if given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.stack.url(service), headers=headers, timeout=60)


@pytest.fixture
def run(make_database: Callable[[str], str], model_dir: Path, tmp_path: Path) -> Iterator[Run]:
    """The stack in production mode on fresh databases, logging to tmp_path/logs."""
    sensitive = {
        "admin key": "smf_admin_" + secrets.token_urlsafe(24),
        "internal secret": secrets.token_urlsafe(32),
        "buyer hash key": secrets.token_urlsafe(32),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMEFIN_")}
    env.update(
        SMEFIN_ENV="production",
        SMEFIN_LOG_LEVEL="DEBUG",
        SMEFIN_ADMIN_KEY=sensitive["admin key"],
        SMEFIN_INTERNAL_SECRET=sensitive["internal secret"],
        SMEFIN_CREDIT_BUYER_HASH_KEY=sensitive["buyer hash key"],
        SMEFIN_CREDIT_MODEL_DIR=str(model_dir),
        **{f"SMEFIN_{s.upper()}_DATABASE_URL": make_database(s) for s in stack_mod.SERVICES},
    )
    log_dir = tmp_path / "logs"
    running = stack_mod.start_stack(env, log_dir=log_dir)
    try:
        yield Run(running, log_dir, sensitive)
    finally:
        stack_mod.stop_stack(running)


def walk_the_flow(run: Run) -> None:
    """A platform's whole flow, then the usual mistakes and attacks."""
    secret = run.sensitive
    with run.client(secret["admin key"]) as admin:
        org = admin.post("/v1/organizations", json={"name": "shop platform", "kind": "platform"})
        assert org.status_code == 201, org.text
        org_id = org.json()["id"]
        keys = [
            admin.post(f"/v1/organizations/{org_id}/api-keys", json={"name": f"k{i}"}).json()
            for i in range(2)
        ]
    token, revoked_token = keys[0]["token"], keys[1]["token"]
    secret["platform key"] = token
    secret["platform key secret part"] = token.split("_", 2)[2]
    secret["revoked key"] = revoked_token

    buyers = [buyer() for _ in range(8)]
    secret.update({f"buyer {i}": b for i, b in enumerate(buyers)})
    with run.client(token) as platform:
        r = platform.put("/v1/firms/shop-1", json={"industry": "retail", "region_code": "330106"})
        assert r.status_code == 201, r.text
        rows = [sale(f"t{i}", buyers[i % 3], 1 + i % 10) for i in range(30)]
        # A bad row: rejected with a reason, its buyer reference must not be logged either.
        rows.append(sale("bad-1", buyers[3], 3, amount="-5"))
        r = platform.post("/v1/firms/shop-1/transactions", json=rows)
        assert r.status_code == 200, r.text
        assert r.json()["rejected"] == 1
        # The same txn id with different content: a conflict, reported.
        r = platform.post("/v1/firms/shop-1/transactions", json=[sale("t1", buyers[4], 2)])
        assert r.status_code in (200, 409), r.text
        bulk = [
            orjson.dumps({**sale(f"b{i}", buyers[5], 4), "firm_ref": "shop-1"}) for i in range(20)
        ]
        bulk.append(
            b'{"firm_ref": "shop-1", "txn_id": "b-broken", "buyer_ref": "' + buyers[6].encode()
        )
        r = platform.post(
            "/v1/transactions/bulk",
            content=b"\n".join(bulk) + b"\n",
            headers={"content-type": "application/x-ndjson"},
        )
        assert r.status_code in (200, 400, 422), r.text
        assert platform.get("/v1/firms/shop-1/metrics").status_code == 200
        assert platform.get("/v1/firms/shop-1/score").status_code == 200
        assert platform.get("/v1/firms").status_code == 200
        # A key sent in the query string or as the request id by mistake.
        platform.get("/v1/firms", params={"api_key": token})
        platform.get("/v1/firms", headers={"X-Request-ID": token})
        platform.post(
            "/v1/applications",
            json={"firm_ref": "shop-1", "amount_cny": "50000.00", "term_months": 12},
        )
        # A buyer reference where a firm reference goes: rejected, and not logged.
        platform.get(f"/v1/firms/{buyers[7]}")

    with run.client(secret["admin key"]) as admin:
        assert admin.delete(f"/v1/api-keys/{keys[1]['id']}").status_code == 200
    forged = {
        "forged key": f"smf_{keys[0]['id']}_{secrets.token_urlsafe(32)}",
        "mangled admin key": secret["admin key"][:-3] + "xyz",
        "garbage key": "not-a-key-" + secrets.token_hex(8),
    }
    secret.update(forged)
    for bad in (*forged.values(), revoked_token):
        with run.client(bad) as attacker:
            assert attacker.get("/v1/firms").status_code == 401
    # Straight at the internal services, bypassing the gateway.
    wrong = sign_principal(Principal(org_id, "platform"), "guessed-secret")
    secret["forged principal"] = wrong
    for service in ("credit", "matching"):
        with run.client(None, service) as direct:
            assert direct.get("/v1/firms").status_code in (401, 404)
            r = direct.get("/v1/firms", headers={PRINCIPAL_HEADER: wrong})
            assert r.status_code in (401, 404)


def test_no_secret_or_buyer_reference_in_any_log_line(run: Run) -> None:
    walk_the_flow(run)
    stack_mod.stop_stack(run.stack)
    files = sorted(run.log_dir.glob("*.log"))
    assert {f.stem for f in files} == set(stack_mod.SERVICES)
    logs = {f.name: f.read_text(errors="replace") for f in files}
    # The logs are not empty: the flow was logged, request by request.
    assert "/v1/transactions/bulk" in logs["credit.log"]
    assert "/v1/applications" in logs["matching.log"]
    assert "/v1/organizations/{org_id}/api-keys" in logs["gateway.log"]
    leaks = [
        f"{name}: line {number} contains the {what}"
        for name, text in logs.items()
        for number, line in enumerate(text.splitlines(), 1)
        for what, value in run.sensitive.items()
        if value in line
    ]
    assert not leaks, "\n".join(leaks[:20])
