"""Keys (format, hash only, expiry, revocation, last use) and scopes (declared; 403 if missing)."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlmodel import Session, create_engine

from services.gateway.models import ApiKey
from services.gateway.openapi import api_routes, route_scope
from services.gateway.routes import FORWARD_ROUTES
from services.gateway.scopes import DEFAULT_SCOPES, SCOPES
from shared.db import utcnow
from tests.gateway.conftest import RunningGateway, wait_for

PUBLIC_WITHOUT_SCOPE: set[tuple[str, str]] = set()


def test_every_route_declares_a_known_scope(gateway: RunningGateway) -> None:
    for route in FORWARD_ROUTES:
        assert route.scope in SCOPES, route
    own = [r for r in api_routes(gateway.app.routes) if r.path.startswith("/v1")]
    assert own
    for route in own:
        for method in route.methods:
            if (method, route.path) not in PUBLIC_WITHOUT_SCOPE:
                assert route_scope(route) in SCOPES, f"{method} {route.path} declares no scope"
    for kind, scopes in DEFAULT_SCOPES.items():
        assert set(scopes) <= set(SCOPES), kind


def test_key_format_hash_only_and_last_used(gateway: RunningGateway) -> None:
    _, token = gateway.new_org("platform")
    prefix, key_id, secret = token.split("_", 2)
    assert prefix == "smf" and len(secret) >= 32
    with gateway.client(token) as c:
        listed = c.get("/v1/api-keys")
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == key_id and item["prefix"] == f"smf_{key_id}" and "token" not in item
    engine = create_engine(gateway.app.state.settings.database_url)
    with Session(engine) as s:
        row = s.get(ApiKey, key_id)
        assert row is not None
        assert secret not in (row.secret_hash, row.prefix) and len(row.secret_hash) == 64
        assert row.last_used_at is not None
    engine.dispose()


def test_missing_scope_is_a_403_problem(gateway: RunningGateway) -> None:
    _, lender = gateway.new_org("lender")
    with gateway.client(lender) as c:
        r = c.get("/v1/firms")
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert "firms:read" in r.json()["detail"]
        assert c.get("/v1/audit-events").status_code == 403
    _, narrow = gateway.new_org("platform", scopes=["firms:read"])
    with gateway.client(narrow) as c:
        assert c.post("/v1/applications", json={}).status_code == 403
        assert c.get("/v1/api-keys").status_code == 403


def test_scopes_beyond_the_kind_are_refused(gateway: RunningGateway) -> None:
    with gateway.admin() as admin:
        org = admin.post("/v1/organizations", json={"name": "l", "kind": "lender"}).json()
        r = admin.post(f"/v1/organizations/{org['id']}/api-keys", json={"scopes": ["firms:write"]})
    assert r.status_code == 422 and r.json()["errors"][0]["location"] == "body.scopes"


def test_bad_expired_and_revoked_keys_are_401(gateway: RunningGateway) -> None:
    with gateway.client("smf_nope_nope") as c:
        assert c.get("/v1/api-keys").status_code == 401
    with gateway.client() as c:
        r = c.get("/v1/api-keys")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    soon = (utcnow() + timedelta(seconds=1.5)).isoformat()
    _, expiring = gateway.new_org("platform", expires_at=soon)
    with gateway.client(expiring) as c:
        assert c.get("/v1/api-keys").status_code == 200
        time.sleep(1.6)
        assert c.get("/v1/api-keys").status_code == 401
    _, token = gateway.new_org("platform")
    key_id = token.split("_")[1]
    with gateway.client(token) as c:
        assert c.get("/v1/api-keys").status_code == 200
        assert c.delete(f"/v1/api-keys/{key_id}").status_code == 200
        assert c.get("/v1/api-keys").status_code == 401


def test_revocation_reaches_every_replica_at_once(start_gateway) -> None:  # type: ignore[no-untyped-def]
    # A long cache TTL: only the broadcast (Redis) or the revocation poll can explain a refusal.
    a = start_gateway(key_cache_ttl_s=300.0)
    b = start_gateway(key_cache_ttl_s=300.0)
    _, token = a.new_org("platform")
    key_id = token.split("_")[1]
    with a.client(token) as ca, b.client(token) as cb:
        assert cb.get("/v1/api-keys").status_code == 200  # now cached on b
        assert ca.delete(f"/v1/api-keys/{key_id}").status_code == 200
        started = time.monotonic()
        wait_for(lambda: cb.get("/v1/api-keys").status_code == 401, timeout_s=3, every_s=0.05)
        assert time.monotonic() - started < 1.5
