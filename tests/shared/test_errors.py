"""One error model: every failure of an app is an RFC 9457 problem with a request id."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from shared.errors import Conflict
from shared.service_app import create_service_app
from shared.settings import ServiceSettings


class Body(BaseModel):
    amount: int = Field(gt=0)
    items: list[str]


def make_app() -> FastAPI:
    app = create_service_app(service="t", settings=ServiceSettings(log_json=False))

    @app.post("/things")
    def things(body: Body) -> dict[str, int]:
        return {"amount": body.amount}

    @app.post("/conflict")
    def conflict() -> None:
        raise Conflict("already there", extra={"hint": "try another"})

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    return app


def test_validation_error_has_field_paths() -> None:
    client = TestClient(make_app())
    r = client.post("/things", json={"amount": 0, "items": [1]}, headers={"x-request-id": "abc-1"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["request_id"] == "abc-1" and r.headers["x-request-id"] == "abc-1"
    assert {e["pointer"] for e in body["errors"]} == {"/amount", "/items/0"}
    assert body["type"].endswith("/validation-error")


def test_app_error_and_404_and_405() -> None:
    client = TestClient(make_app())
    r = client.post("/conflict")
    assert r.status_code == 409 and r.json()["hint"] == "try another"
    assert client.get("/nowhere").json()["status"] == 404
    assert client.get("/things").status_code == 405


def test_unexpected_error_is_a_problem_not_a_trace() -> None:
    client = TestClient(make_app(), raise_server_exceptions=False)
    r = client.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "bug" not in r.text


def test_health_endpoints() -> None:
    client = TestClient(make_app())
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200
    assert "smefin_http_requests_total" in client.get("/metrics").text
