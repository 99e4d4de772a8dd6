"""Request size limits: an oversized body is a 413 problem, declared or chunked, everywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from shared.settings import ServiceSettings
from tests.conftest import principal_headers

LIMIT = 4096
# One JSON route of each service (the body would otherwise be buffered whole in memory).
JSON_ROUTES = {
    "credit": ("PUT", "/v1/firms/shop-1"),
    "matching": ("POST", "/v1/applications"),
    "gateway": ("POST", "/v1/organizations"),
}


def big_json(size: int) -> bytes:
    """A JSON object of about `size` bytes."""
    return orjson.dumps({"name": "x" * size})


def chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    """The body as a chunked stream (no Content-Length)."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


def assert_413(response: object) -> None:
    """A 413 problem response."""
    r = response
    assert r.status_code == 413, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert r.json()["type"].endswith("/payload-too-large")  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", sorted(JSON_ROUTES))
def test_declared_oversized_body_is_413(
    service_client: Callable[..., TestClient], service: str
) -> None:
    client = service_client(service, max_body_bytes=LIMIT)
    method, path = JSON_ROUTES[service]
    headers = {**principal_headers("org_p1"), "content-type": "application/json"}
    assert_413(client.request(method, path, content=big_json(LIMIT + 1), headers=headers))


@pytest.mark.parametrize("service", sorted(JSON_ROUTES))
def test_chunked_oversized_body_is_413(
    service_client: Callable[..., TestClient], service: str
) -> None:
    client = service_client(service, max_body_bytes=LIMIT)
    method, path = JSON_ROUTES[service]
    headers = {**principal_headers("org_p1"), "content-type": "application/json"}
    r = client.request(method, path, content=chunks(big_json(LIMIT * 3)), headers=headers)
    assert_413(r)


@pytest.mark.parametrize("service", sorted(JSON_ROUTES))
def test_a_body_within_the_limit_reaches_the_route(
    service_client: Callable[..., TestClient], service: str
) -> None:
    """Same routes, small bodies: whatever the route answers, it is not a size refusal."""
    client = service_client(service, max_body_bytes=LIMIT)
    method, path = JSON_ROUTES[service]
    headers = {**principal_headers("org_p1"), "content-type": "application/json"}
    for content in (big_json(LIMIT // 2), chunks(big_json(LIMIT // 2))):
        r = client.request(method, path, content=content, headers=headers)
        assert r.status_code != 413, r.text


def test_the_default_limit_is_ten_mebibytes(service_client: Callable[..., TestClient]) -> None:
    assert ServiceSettings.model_fields["max_body_bytes"].default == 10 * 1024 * 1024
    client = service_client("gateway")
    r = client.post(
        "/v1/organizations",
        content=big_json(10 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert_413(r)


def test_bulk_upload_streams_past_the_json_limit_up_to_its_own(
    service_client: Callable[..., TestClient],
) -> None:
    """Bulk NDJSON is exempt from max_body_bytes and bounded by max_bulk_bytes instead."""
    client = service_client("credit", max_body_bytes=LIMIT, max_bulk_bytes=LIMIT * 8)
    headers = {**principal_headers("org_p1"), "content-type": "application/x-ndjson"}
    client.put(
        "/v1/firms/shop-1",
        json={"industry": "retail", "region_code": "330106"},
        headers=principal_headers("org_p1"),
    )
    row = {
        "firm_ref": "shop-1",
        "type": "sale",
        "occurred_at": "2026-03-15T10:00:00+08:00",
        "amount": "10.00",
        "currency": "CNY",
    }
    lines = [orjson.dumps({**row, "txn_id": f"t{i}"}) + b"\n" for i in range(60)]
    body = b"".join(lines)
    assert LIMIT < len(body) < LIMIT * 8
    r = client.post("/v1/transactions/bulk", content=chunks(body), headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["received"], r.json()["inserted"]) == (60, 60)
    too_big = b"".join(lines * 10)
    assert_413(client.post("/v1/transactions/bulk", content=chunks(too_big), headers=headers))
