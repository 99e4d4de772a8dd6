"""Every route of the internal services refuses a call the gateway did not sign (401)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable

import orjson
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal
from tests.conftest import TEST_SECRET

# Routes that answer without a principal: probes, metrics and the API description.
OPEN_PATHS = {
    # The console's page and static assets carry no data: its API calls need a key.
    "/console",
    "/console/",
    "/console/static",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
}
ADMIN = Principal("org_admin", "admin", frozenset({"*"}))


def _tampered() -> str:
    """A validly signed header whose payload was then changed to claim more."""
    encoded, mac = sign_principal(Principal("org_p1", "platform"), TEST_SECRET).rsplit(".", 1)
    data = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    data["kind"] = "admin"
    forged = base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()
    return f"{forged}.{mac}"


BAD_HEADERS: dict[str, Callable[[], dict[str, str]]] = {
    "missing": lambda: {},
    "empty": lambda: {PRINCIPAL_HEADER: ""},
    "malformed": lambda: {PRINCIPAL_HEADER: "not-a-principal"},
    "forged with another secret": lambda: {
        PRINCIPAL_HEADER: sign_principal(ADMIN, "not-the-internal-secret")
    },
    "stale": lambda: {PRINCIPAL_HEADER: sign_principal(ADMIN, TEST_SECRET, now=time.time() - 600)},
    "from the future": lambda: {
        PRINCIPAL_HEADER: sign_principal(ADMIN, TEST_SECRET, now=time.time() + 600)
    },
    "tampered payload": lambda: {PRINCIPAL_HEADER: _tampered()},
    "unknown kind": lambda: {
        PRINCIPAL_HEADER: sign_principal(Principal("org_x", "superuser"), TEST_SECRET)
    },
}


def concrete(path: str) -> str:
    """A route template with every path parameter filled in."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route of the app under test, included routers walked through."""
    found = []
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if route.path not in OPEN_PATHS:
            methods = sorted((route.methods or {"GET"}) - {"HEAD"})
            found.extend((method, concrete(route.path)) for method in methods)
    return found


@pytest.mark.parametrize("service", ["credit", "matching"])
def test_every_route_refuses_an_unsigned_or_bad_principal(
    service_client: Callable[..., TestClient], service: str
) -> None:
    client = service_client(service)
    table = routes(client)
    assert len(table) >= 5, f"{service}: found only {table}"
    failures = []
    for method, path in table:
        for case, headers in BAD_HEADERS.items():
            r = client.request(method, path, headers=headers(), json={})
            if r.status_code != 401 or r.headers["content-type"] != "application/problem+json":
                failures.append(f"{method} {path} [{case}] -> {r.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("service", ["credit", "matching"])
def test_a_signed_principal_gets_past_authentication(
    service_client: Callable[..., TestClient], service: str
) -> None:
    """The refusals above are about the header: the same calls, signed, are not 401."""
    client = service_client(service)
    headers = {PRINCIPAL_HEADER: sign_principal(ADMIN, TEST_SECRET)}
    statuses = {
        (method, path): client.request(method, path, headers=headers, json={}).status_code
        for method, path in routes(client)
    }
    assert 401 not in statuses.values(), statuses


def test_every_gateway_api_route_needs_a_key(service_client: Callable[..., TestClient]) -> None:
    client = service_client("gateway")
    failures = []
    for method, path in routes(client):
        for headers in ({}, {"Authorization": "Bearer smf_0123456789abcdef_forged"}):
            r = client.request(method, path, headers=headers, json={})
            if r.status_code != 401:
                failures.append(f"{method} {path} {headers} -> {r.status_code}")
    assert not failures, "\n".join(failures)


def test_a_second_accepted_secret_lets_replicas_roll_during_rotation(
    service_client: Callable[..., TestClient],
) -> None:
    old, new = "old-internal-secret-0123456789", "new-internal-secret-0123456789"
    rotating = service_client("credit", internal_secret=new, internal_secret_accepted=old)
    settled = service_client("credit", internal_secret=new)
    for secret, during, after in ((new, 200, 200), (old, 200, 401), ("third-secret", 401, 401)):
        headers = {PRINCIPAL_HEADER: sign_principal(ADMIN, secret)}
        assert rotating.get("/v1/models", headers=headers).status_code == during, secret
        assert settled.get("/v1/models", headers=headers).status_code == after, secret
