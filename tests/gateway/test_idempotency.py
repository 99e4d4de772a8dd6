"""Idempotency-Key: replay, 422 on another body, 409 while running, scoped per organisation,
and the streamed bulk upload (hashed while streaming)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import orjson

from tests.gateway.conftest import RunningGateway


def test_same_key_same_body_replays(gateway: RunningGateway) -> None:
    body = {"name": "acme", "kind": "platform"}
    with gateway.admin() as admin:
        first = admin.post("/v1/organizations", json=body, headers={"Idempotency-Key": "k-1"})
        again = admin.post("/v1/organizations", json=body, headers={"Idempotency-Key": "k-1"})
        other = admin.post(
            "/v1/organizations",
            json={"name": "other", "kind": "platform"},
            headers={"Idempotency-Key": "k-1"},
        )
        listed = admin.get("/v1/organizations").json()["items"]
    assert first.status_code == 201 and again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["errors"][0]["location"] == "header.Idempotency-Key"
    assert sum(o["name"] == "acme" for o in listed) == 1
    assert all(o["name"] != "other" for o in listed)


def test_keys_are_scoped_to_the_organisation(gateway: RunningGateway) -> None:
    _, a = gateway.new_org("platform")
    _, b = gateway.new_org("platform")
    body = {"url": "http://127.0.0.1:9/hook"}
    with gateway.client(a) as ca, gateway.client(b) as cb:
        ra = ca.post("/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "same"})
        rb = cb.post("/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "same"})
        assert ra.status_code == rb.status_code == 201
        assert ra.json()["id"] != rb.json()["id"]
        assert "idempotency-replayed" not in rb.headers


def test_failed_validation_is_replayed_too(gateway: RunningGateway) -> None:
    with gateway.admin() as admin:
        bad = {"name": "", "kind": "bank"}
        r1 = admin.post("/v1/organizations", json=bad, headers={"Idempotency-Key": "v"})
        r2 = admin.post("/v1/organizations", json=bad, headers={"Idempotency-Key": "v"})
    assert r1.status_code == r2.status_code == 422
    assert r1.json()["detail"] == r2.json()["detail"]


def _slow_ndjson(rows: list[dict[str, object]], pause_s: float) -> Iterator[bytes]:
    for i, row in enumerate(rows):
        yield orjson.dumps(row) + b"\n"
        if i == 0:
            time.sleep(pause_s)


def test_streamed_upload_409_while_running_then_replay(full_gateway: RunningGateway) -> None:
    _, token = full_gateway.new_org("platform")
    rows = [
        {
            "firm_ref": "idem-shop",
            "txn_id": f"t{i}",
            "type": "sale",
            "occurred_at": "2026-03-15T10:00:00+08:00",
            "amount": "10.00",
            "currency": "CNY",
            "order_ref": f"o{i}",
            "buyer_ref": "b",
        }
        for i in range(5)
    ]
    headers = {"Idempotency-Key": "upload-1", "Content-Type": "application/x-ndjson"}
    with full_gateway.client(token) as c:
        assert c.put(
            "/v1/firms/idem-shop", json={"industry": "retail", "region_code": "330106"}
        ).status_code in {200, 201}
        result: dict[str, object] = {}

        def slow() -> None:
            with full_gateway.client(token) as c2:
                result["first"] = c2.post(
                    "/v1/transactions/bulk", content=_slow_ndjson(rows, 1.5), headers=headers
                )

        worker = threading.Thread(target=slow)
        worker.start()
        time.sleep(0.7)
        during = c.post(
            "/v1/transactions/bulk",
            content=b"".join(orjson.dumps(r) + b"\n" for r in rows),
            headers=headers,
        )
        worker.join(30)
        first = result["first"]
        assert during.status_code == 409, during.text
        assert during.headers["retry-after"]
        assert first.status_code == 200, first.text  # type: ignore[attr-defined]
        replay = c.post(
            "/v1/transactions/bulk",
            content=b"".join(orjson.dumps(r) + b"\n" for r in rows),
            headers=headers,
        )
        assert replay.status_code == 200
        assert replay.headers["idempotency-replayed"] == "true"
        assert replay.json() == first.json()  # type: ignore[attr-defined]
        changed = c.post(
            "/v1/transactions/bulk",
            content=b"".join(orjson.dumps(r) + b"\n" for r in rows[:2]),
            headers=headers,
        )
        assert changed.status_code == 422


def test_keys_expire_after_the_ttl(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gw: RunningGateway = start_gateway(idempotency_ttl_s=1)
    with gw.admin() as admin:
        first = admin.post(
            "/v1/organizations",
            json={"name": "a", "kind": "lender"},
            headers={"Idempotency-Key": "t"},
        )
        time.sleep(1.2)
        later = admin.post(
            "/v1/organizations",
            json={"name": "b", "kind": "lender"},
            headers={"Idempotency-Key": "t"},
        )
    assert first.status_code == later.status_code == 201
    assert first.json()["id"] != later.json()["id"]
