"""One OpenAPI 3.1 document for the whole public /v1 API, built from the services' own routers.

The forwarded routes are described by the very FastAPI routes (and pydantic schemas) that serve
them in credit and matching, imported in-process and filtered to FORWARD_ROUTES; the gateway's
own routes are added; then every operation gets the bearer scheme, the scope it needs, the
Idempotency-Key header on POST and RFC 9457 problem responses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from services.gateway.routes import FORWARD_ROUTES
from services.gateway.scopes import SCOPES

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "pointer": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
    "example": {
        "type": "https://smefin.dev/problems/validation-error",
        "title": "Unprocessable content",
        "status": 422,
        "detail": "body.amount_cny: Input should be greater than 0",
        "request_id": "4b1f0c1e2d3a4f5e8a9b0c1d2e3f4a5b",
        "errors": [
            {"location": "body.amount_cny", "pointer": "/amount_cny", "detail": "must be > 0"}
        ],
    },
}
PROBLEMS = {
    "400": "Bad request (for example a cursor that is not ours)",
    "401": "Missing, invalid, expired or revoked API key",
    "403": "The API key lacks the scope this operation needs",
    "404": "Not found, or not the caller's (no existence leak)",
    "409": "Conflict, or the same Idempotency-Key is still being processed",
    "413": "Request body too large",
    "415": "Unsupported request media type",
    "422": "Invalid input; or an Idempotency-Key reused with another body",
    "429": "Rate limit exceeded (see Retry-After and RateLimit headers)",
    "503": "The owning service is unavailable (see Retry-After)",
}
IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a POST safe to retry: same key and body within 24 h replays the "
    "first answer; the key is scoped to the caller's organisation.",
    "schema": {"type": "string", "maxLength": 255},
    "example": "7f6c4a1e-2b9d-4f8a-9c3e-5d1b2a6f7e80",
}
RATE_HEADERS = {
    "RateLimit-Limit": {"schema": {"type": "integer"}, "description": "Bucket size"},
    "RateLimit-Remaining": {"schema": {"type": "integer"}, "description": "Tokens left"},
    "RateLimit-Reset": {"schema": {"type": "integer"}, "description": "Seconds to full"},
}


def route_scope(route: APIRoute) -> str | None:
    """The scope a gateway route demands, read from its dependencies (None: none demanded)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        scope = getattr(dep.call, "scope", None)
        if isinstance(scope, str):
            return scope
        stack.extend(dep.dependencies)
    return None


def api_routes(routes: Sequence[Any]) -> list[APIRoute]:
    """Every APIRoute under a list of routes, looking inside included routers."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            # FastAPI keeps included routers as one entry; their routes carry the full path
            # because every router here sets its prefix itself.
            out.extend(api_routes(route.original_router.routes))
    return out


def _service_routes() -> list[APIRoute]:
    from services.credit.app import PUBLIC_ROUTERS as CREDIT_ROUTERS
    from services.matching.app import PUBLIC_ROUTERS as MATCHING_ROUTERS

    wanted = {(r.method, r.path) for r in FORWARD_ROUTES}
    out: list[APIRoute] = []
    routers = [*CREDIT_ROUTERS, *MATCHING_ROUTERS]
    for route in api_routes([r for router in routers for r in router.routes]):
        if any((method, route.path) in wanted for method in route.methods or ()):
            out.append(route)
    return out


def _op_id(name: str, taken: set[str]) -> str:
    op_id, n = name, 2
    while op_id in taken:
        op_id, n = f"{name}_{n}", n + 1
    taken.add(op_id)
    return op_id


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The public document (cached on the app after the first build)."""
    own = [r for r in api_routes(app.routes) if r.include_in_schema]
    served = _service_routes()
    doc = get_openapi(
        title="smefin public API",
        version="1.0.0",
        openapi_version="3.1.0",
        description=(app.description or "")
        + "\n\nAuthenticate with `Authorization: Bearer smf_<id>_<secret>`. Errors are RFC 9457 "
        "problem details. Lists use cursor pagination (`cursor`, `limit`, `next_cursor`).",
        routes=[*own, *served],
        servers=[{"url": app.state.settings.public_url}],
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    doc["components"]["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: smf_<key id>_<secret>. Scopes: "
            + ", ".join(f"`{s}`" for s in SCOPES),
        }
    }
    doc["security"] = [{"bearerAuth": []}]
    forward = {(r.method, r.path): r for r in FORWARD_ROUTES}
    names = {}
    scopes: dict[tuple[str, str], str | None] = {}
    for route in own:
        for method in route.methods or ():
            names[(method, route.path)] = route.name
            scopes[(method, route.path)] = route_scope(route)
    for route in served:
        for method in route.methods or ():
            names[(method, route.path)] = route.name
            fr = forward.get((method, route.path))
            scopes[(method, route.path)] = fr.scope if fr else None
    # Routes of the table whose service router is not importable here still get described.
    for (method, path), fr in forward.items():
        ops = doc["paths"].setdefault(path, {})
        if method.lower() not in ops:
            params = re.findall(r"{(\w+)}", path)
            ops[method.lower()] = {
                "summary": fr.summary,
                "tags": [fr.service],
                "parameters": [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                    for p in params
                ],
                "responses": {
                    "200": {"description": "Success", "content": {"application/json": {}}}
                },
            }
            names[(method, path)] = fr.summary.lower().replace(" ", "_")
            scopes[(method, path)] = fr.scope
    taken: set[str] = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            key = (method.upper(), path)
            op["operationId"] = _op_id(names.get(key, op.get("operationId", "op")), taken)
            scope = scopes.get(key)
            op["x-required-scope"] = scope
            if scope:
                op["description"] = (op.get("description") or op.get("summary") or "") + (
                    f"\n\nRequires scope `{scope}`."
                )
            if method == "post":
                op.setdefault("parameters", []).append(IDEMPOTENCY_PARAM)
            responses = op.setdefault("responses", {})
            fr = forward.get(key)
            if fr is not None and fr.also_answers:
                success = next((c for c in responses if c.startswith("2")), None)
                for extra in fr.also_answers:
                    if success is not None and str(extra) not in responses:
                        responses[str(extra)] = dict(responses[success])
            for code, text in PROBLEMS.items():
                if code == "404" and "{" not in path:
                    continue
                if code == "409" and method != "post" and "{" not in path:
                    continue
                if code in {"413", "415"} and "requestBody" not in op:
                    continue
                responses[code] = {
                    "description": text,
                    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                }
                if code in {"429", "503"}:
                    responses[code]["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}},
                        **(RATE_HEADERS if code == "429" else {}),
                    }
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the built document at /openapi.json (and so at /docs)."""
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(build_openapi(app))
        return cached

    app.openapi = openapi  # type: ignore[method-assign]
