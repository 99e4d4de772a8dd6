"""Every public matching route of the gateway table exists in the matching app, and back."""

from __future__ import annotations

from typing import Any

from services.gateway.routes import FORWARD_ROUTES
from services.gateway.scopes import DEFAULT_SCOPES, SCOPES
from services.matching.app import create_app
from services.matching.config import MatchingSettings


def _service_routes() -> set[tuple[str, str]]:
    app: Any = create_app(MatchingSettings(database_url="sqlite://", env="test", log_json=False))
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def test_gateway_table_and_matching_routes_agree() -> None:
    forwarded = {(r.method, r.path) for r in FORWARD_ROUTES if r.service == "matching"}
    assert forwarded == _service_routes()


def test_every_matching_scope_exists_and_someone_holds_it() -> None:
    held = {s for scopes in DEFAULT_SCOPES.values() for s in scopes}
    for route in FORWARD_ROUTES:
        if route.service == "matching":
            assert route.scope in SCOPES and route.scope in held, route
