"""Gateway dependencies: the caller's principal from its bearer token, and scope checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from services.gateway.service import Authenticator
from shared.errors import Forbidden, Unauthorized
from shared.internal_auth import Principal

BEARER = "bearer "


async def authenticated(request: Request) -> Principal:
    """The principal of the request's bearer token, or a 401 problem."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(BEARER):
        raise Unauthorized(
            "send Authorization: Bearer <api key>", headers={"WWW-Authenticate": "Bearer"}
        )
    token = header[len(BEARER) :].strip()
    auth: Authenticator = request.app.state.authenticator
    principal = auth.authenticate_cached(token)
    if principal is None:
        try:
            principal = await run_in_threadpool(auth.authenticate, token)
        except Unauthorized as exc:
            exc.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            raise
    request.state.principal = principal
    return principal


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates and demands one scope (403 problem when missing)."""

    async def check(request: Request) -> Principal:
        principal = await authenticated(request)
        if not principal.has(scope):
            raise Forbidden(f"this API key lacks the {scope!r} scope")
        return principal

    check.__name__ = f"require_{scope.replace(':', '_')}"
    return check


def get_engine(request: Request) -> Engine:
    """The gateway's engine."""
    return request.app.state.engine  # type: ignore[no-any-return]


EngineDep = Annotated[Engine, Depends(get_engine)]
AdminDep = Annotated[Principal, Depends(require_scope("orgs:admin"))]
KeysDep = Annotated[Principal, Depends(require_scope("keys:manage"))]
