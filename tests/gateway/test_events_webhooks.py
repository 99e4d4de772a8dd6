"""Outbox events collected by the gateway, GET /v1/events with a cursor, and signed webhooks
delivered at least once to a real receiver process that fails its first attempts."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.cli import stack as stack_mod
from tests.gateway.conftest import RunningGateway, wait_for

FAST_RETRIES = [0.3, 0.6, 1.0, 1.0]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Callable[..., tuple[str, Path, Path]]]:
    """Factory: start a receiver process; returns (base url, secrets file, log file)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(fail_first: int = 0) -> tuple[str, Path, Path]:
        port = stack_mod.free_port()
        secrets = tmp_path / f"secrets-{port}"
        log = tmp_path / f"log-{port}.jsonl"
        secrets.write_text("")
        log.write_text("")
        cmd = [sys.executable, "-m", "tests.gateway.webhook_receiver", str(port)]
        procs.append(subprocess.Popen([*cmd, str(secrets), str(log), str(fail_first)]))
        base = f"http://127.0.0.1:{port}"
        import httpx

        def up() -> bool:
            try:
                return httpx.get(base + "/ready", timeout=0.5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout_s=10)
        return base, secrets, log

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(5)


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _upload(c: Any, firm_ref: str, n: int) -> None:
    assert c.put(
        f"/v1/firms/{firm_ref}", json={"industry": "retail", "region_code": "330106"}
    ).status_code in {200, 201}
    rows = [
        {
            "txn_id": f"{firm_ref}-{i}",
            "type": "sale",
            "occurred_at": "2026-03-15T10:00:00+08:00",
            "amount": "10.00",
            "currency": "CNY",
            "order_ref": f"o{i}",
            "buyer_ref": "b",
        }
        for i in range(n)
    ]
    r = c.post(f"/v1/firms/{firm_ref}/transactions", json=rows)
    assert r.status_code == 200, r.text


def test_events_feed_and_signed_deliveries_with_retries(
    start_gateway, services_stack: stack_mod.Stack, receiver
) -> None:  # type: ignore[no-untyped-def]
    gw: RunningGateway = start_gateway(
        credit_url=services_stack.url("credit"),
        matching_url=services_stack.url("matching"),
        webhook_retry_schedule_s=FAST_RETRIES,
    )
    base, secrets, log = receiver(fail_first=2)
    _, token = gw.new_org("platform")
    _, other = gw.new_org("platform")
    with gw.client(token) as c:
        made = c.post(
            "/v1/webhook-endpoints",
            json={"url": base + "/hook", "event_types": ["transactions.ingested"]},
        )
        assert made.status_code == 201, made.text
        endpoint = made.json()
        assert endpoint["secret"].startswith("whsec_")
        secrets.write_text(endpoint["secret"])
        # Another endpoint that wants only application events: it gets none of these.
        filtered = c.post(
            "/v1/webhook-endpoints",
            json={"url": base + "/hook2", "event_types": ["application.created"]},
        )
        assert filtered.status_code == 201
        _upload(c, "evt-shop", 3)
        _upload(c, "evt-shop-2", 2)

        # GET /v1/events: the caller's events, with a cursor.
        def events() -> list[dict[str, Any]]:
            resp = c.get("/v1/events", params={"limit": 1})
            assert resp.status_code == 200, resp.text
            items = resp.json()
            first = items["items"]
            if not first:
                return []
            rest = c.get("/v1/events", params={"cursor": items["next_cursor"]}).json()["items"]
            return first + rest

        seen = wait_for(lambda: len(events()) >= 2 and events())
        assert [e["type"] for e in seen] == ["transactions.ingested"] * 2
        assert seen[0]["data"]["firm_refs"] == ["evt-shop"] and seen[0]["data"]["inserted"] == 3
        assert len({e["id"] for e in seen}) == 2
    with gw.client(other) as c:
        assert c.get("/v1/events").json()["items"] == []

    # At least once: 2 failures (500), then success; every attempt signed and verified.
    delivered = wait_for(
        lambda: (
            {e["id"] for e in _log(log) if e["status"] == 204} >= {e["id"] for e in seen}
            and _log(log)
        ),
        timeout_s=20,
    )
    assert all(entry["matched"] == [0] for entry in delivered)
    assert all(entry["path"] == "/hook" for entry in delivered)
    assert sum(entry["status"] == 500 for entry in delivered) == 2
    by_id = {e["id"]: e for e in delivered if e["status"] == 204}
    assert by_id[seen[0]["id"]]["body"]["data"] == seen[0]["data"]
    with gw.client(token) as c:
        deliveries = c.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["items"]
        assert {d["status"] for d in deliveries} == {"succeeded"}
        assert sum(d["attempts"] for d in deliveries) == 4
        failed_then_ok = next(d for d in deliveries if d["attempts"] > 1)
        assert [a["status_code"] for a in failed_then_ok["attempt_log"]][-1] == 204

        # Replay on request: same webhook-id again.
        sent = sum(e["id"] == deliveries[0]["event_id"] for e in _log(log))
        replay = c.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{deliveries[0]['id']}/replay"
        )
        assert replay.status_code == 202
        wait_for(lambda: sum(e["id"] == deliveries[0]["event_id"] for e in _log(log)) > sent)

        # Rotation: old and new secrets both sign during the grace period.
        rotated = c.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={})
        assert rotated.status_code == 200
        old = endpoint["secret"]
        secrets.write_text(old + "\n" + rotated.json()["secret"])
        before = len(_log(log))
        _upload(c, "evt-shop-3", 1)
        entry = wait_for(lambda: len(_log(log)) > before and _log(log)[-1], timeout_s=20)
        assert entry["signatures"] == 2 and entry["matched"] == [0, 1]
        assert entry["status"] == 204


def test_410_disables_the_endpoint(start_gateway, services_stack, receiver) -> None:  # type: ignore[no-untyped-def]
    gw: RunningGateway = start_gateway(
        credit_url=services_stack.url("credit"), webhook_retry_schedule_s=FAST_RETRIES
    )
    base, secrets, log = receiver()
    _, token = gw.new_org("platform")
    with gw.client(token) as c:
        endpoint = c.post("/v1/webhook-endpoints", json={"url": base + "/gone"}).json()
        secrets.write_text(endpoint["secret"])
        _upload(c, "gone-shop", 1)
        wait_for(
            lambda: c.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()["disabled_at"],
            timeout_s=20,
        )
        assert [e["status"] for e in _log(log)] == [410]
        [d] = c.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["items"]
        assert d["status"] == "failed" and d["attempts"] == 1
        _upload(c, "gone-shop-2", 1)
        time.sleep(1.0)
        assert len(_log(log)) == 1  # nothing more is sent to a disabled endpoint


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.com/x",
        "not a url",
    ],
)
def test_private_and_odd_webhook_urls_are_refused(gateway: RunningGateway, url: str) -> None:
    _, token = gateway.new_org("platform")
    with gateway.client(token) as c:
        r = c.post("/v1/webhook-endpoints", json={"url": url})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["location"] == "body.url"


def test_receiver_that_times_out_is_retried_and_never_blocks_the_api(
    start_gateway, services_stack: stack_mod.Stack, receiver
) -> None:  # type: ignore[no-untyped-def]
    gw: RunningGateway = start_gateway(
        credit_url=services_stack.url("credit"),
        matching_url=services_stack.url("matching"),
        webhook_retry_schedule_s=FAST_RETRIES,
        webhook_timeout_s=0.5,
    )
    base, secrets, log = receiver(fail_first=2)
    _, token = gw.new_org("platform")
    with gw.client(token) as c:
        made = c.post("/v1/webhook-endpoints", json={"url": base + "/slow"})
        assert made.status_code == 201, made.text
        secrets.write_text(made.json()["secret"])
        _upload(c, "slow-shop", 2)
        # While deliveries hang on the receiver, the API answers as fast as ever.
        while not _log(log):
            started = time.monotonic()
            assert c.get("/v1/events").status_code == 200
            assert time.monotonic() - started < 1.0
            time.sleep(0.05)
        for _ in range(10):
            started = time.monotonic()
            assert c.get("/v1/firms").status_code == 200
            assert time.monotonic() - started < 1.0
    # Two attempts timed out (the receiver logs them only after hanging), then one got through.
    done = wait_for(lambda: any(e["status"] == 204 for e in _log(log)) and _log(log), timeout_s=30)
    ok = [e for e in done if e["status"] == 204]
    assert len(ok) == 1 and ok[0]["matched"] == [0]
    deliveries = wait_for(
        lambda: (
            (items := gw_deliveries(gw, token, made.json()["id"]))
            and items[0]["status"] == "succeeded"
            and items
        ),
        timeout_s=30,
    )
    assert deliveries[0]["attempts"] >= 3


def gw_deliveries(gw: RunningGateway, token: str, endpoint_id: str) -> list[dict[str, Any]]:
    """The delivery log of one endpoint."""
    with gw.client(token) as c:
        return c.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries").json()["items"]  # type: ignore[no-any-return]
