"""Request ids end to end, JSON logs without secrets or buyer references, /metrics everywhere."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx

from services.cli import stack as stack_mod
from shared.logging import JsonFormatter
from tests.gateway.conftest import RunningGateway, wait_for

BUYER = "buyer-secret-ref-77"


def test_request_id_reaches_services_and_logs_hold_no_secrets(
    full_gateway: RunningGateway, services_stack: stack_mod.Stack
) -> None:
    # Lines are formatted as they are written (the request id is read at that moment).
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(JsonFormatter("gateway"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    _, token = full_gateway.new_org("platform")
    row = {
        "txn_id": "obs-1",
        "type": "sale",
        "occurred_at": "2026-03-15T10:00:00+08:00",
        "amount": "10.00",
        "currency": "CNY",
        "order_ref": "o1",
        "buyer_ref": BUYER,
    }
    with full_gateway.client(token) as c:
        c.put("/v1/firms/obs-shop", json={"industry": "retail", "region_code": "330106"})
        r = c.post(
            "/v1/firms/obs-shop/transactions", json=[row], headers={"X-Request-ID": "obs-rid-1"}
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == "obs-rid-1"
        fresh = c.get("/v1/firms")
        assert len(fresh.headers["x-request-id"]) == 32  # minted when none is sent
        # The id went on to credit: its outbox event carries it.
        events = wait_for(lambda: c.get("/v1/events").json()["items"])
        assert events[0]["request_id"] == "obs-rid-1"
        c.get("/v1/firms/obs-shop/score")
    with full_gateway.client("smf_abcdef_not-a-real-secret") as bad:
        bad.get("/v1/firms")
    root.removeHandler(handler)
    root.setLevel(level)
    # Gateway log lines, as JSON: every request line carries its id, no key or secret appears.
    lines = [x for x in captured.getvalue().splitlines() if x.startswith("{")]
    assert lines
    for line in lines:
        assert token not in line and "not-a-real-secret" not in line and BUYER not in line
    access = [json.loads(x) for x in lines if json.loads(x)["logger"] == "smefin.access"]
    assert any(a.get("request_id") == "obs-rid-1" for a in access)
    assert all("request_id" in a for a in access)
    # The services' own log files: JSON, request ids, and no buyer reference or key.
    log_dir = Path(services_stack.logs["credit"].name).parent
    for name in ("credit", "matching"):
        services_stack.logs[name].flush()
        text = (log_dir / f"{name}.log").read_text()
        assert BUYER not in text and token not in text and "smf_" not in text
        records = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
        access = [r for r in records if r["logger"] == "smefin.access"]
        assert access and all("request_id" in r for r in access)
        if name == "credit":
            assert any(r.get("request_id") == "obs-rid-1" for r in access)


def test_metrics_on_every_service(
    full_gateway: RunningGateway, services_stack: stack_mod.Stack
) -> None:
    _, token = full_gateway.new_org("platform")
    with full_gateway.client(token) as c:
        c.put("/v1/firms/m-shop", json={"industry": "retail", "region_code": "330106"})
        c.get("/v1/firms/m-shop")
    gw = httpx.get(full_gateway.url + "/metrics").text
    assert 'route="/v1/firms/{firm_ref}"' in gw and "smefin_http_request_duration_seconds" in gw
    assert "smefin_webhook_deliveries_total" in gw or "# HELP smefin_webhook" in gw
    credit = httpx.get(services_stack.url("credit") + "/metrics").text
    assert "smefin_transactions_ingested_total" in credit
    assert "smefin_scores_served_total" in credit
    assert 'service="credit"' in credit
    matching = httpx.get(services_stack.url("matching") + "/metrics").text
    assert "smefin_offers_made_total" in matching
    assert 'service="matching"' in matching
