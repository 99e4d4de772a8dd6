"""Audit log: who, what, when, request id; append-only; operators query it with filters."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tests.gateway.conftest import RunningGateway, wait_for


def test_requests_are_audited_and_filterable(gateway: RunningGateway) -> None:
    org_id, token = gateway.new_org("platform")
    key_id = token.split("_")[1]
    with gateway.client(token) as c:
        ok = c.get("/v1/api-keys", headers={"X-Request-ID": "audit-req-1"})
        assert ok.headers["x-request-id"] == "audit-req-1"
        assert c.delete(f"/v1/api-keys/{key_id}").status_code == 200

    def mine() -> list[dict[str, object]]:
        with gateway.admin() as admin:
            r = admin.get("/v1/audit-events", params={"org_id": org_id})
            assert r.status_code == 200
            return r.json()["items"]  # type: ignore[no-any-return]

    rows = wait_for(lambda: len(mine()) >= 2 and mine())
    listed = next(r for r in rows if r["route"] == "/v1/api-keys")
    assert listed["request_id"] == "audit-req-1"
    assert listed["key_id"] == key_id and listed["method"] == "GET" and listed["status"] == 200
    revoked = next(r for r in rows if r["method"] == "DELETE")
    assert revoked["route"] == "/v1/api-keys/{key_id}" and revoked["resource_id"] == key_id
    with gateway.admin() as admin:
        only_deletes = admin.get(
            "/v1/audit-events", params={"org_id": org_id, "method": "DELETE"}
        ).json()["items"]
        assert [r["method"] for r in only_deletes] == ["DELETE"]
        none = admin.get("/v1/audit-events", params={"org_id": org_id, "status": 418}).json()
        assert none["items"] == []
        assert admin.get("/v1/audit-events", params={"status": 1000}).status_code == 422
    # Denied calls are audited too, without a principal.
    with gateway.client("smf_bad_bad") as bad:
        bad.get("/v1/api-keys", headers={"X-Request-ID": "denied-1"})
    with gateway.admin() as admin:
        wait_for(
            lambda: any(
                r["request_id"] == "denied-1" and r["status"] == 401 and r["org_id"] is None
                for r in admin.get("/v1/audit-events", params={"status": 401}).json()["items"]
            )
        )


def test_audit_log_is_append_only(gateway: RunningGateway) -> None:
    with gateway.admin() as admin:
        admin.get("/v1/organizations")
    engine = create_engine(gateway.app.state.settings.database_url)
    wait_for(lambda: _count(engine) > 0)
    for statement in ("UPDATE audit_event SET status = 200", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    engine.dispose()


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one())
