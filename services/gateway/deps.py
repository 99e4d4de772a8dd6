"""Gateway dependencies: the caller's principal from its bearer token, scope and rate checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from services.gateway.ratelimit import Decision, MemoryRateLimiter, RateLimited
from services.gateway.service import Authenticator
from shared.errors import Forbidden, Unauthorized
from shared.internal_auth import Principal

BEARER = "bearer "


def bearer_token(request: Request) -> str:
    """The bearer token of a request, or a 401 problem."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(BEARER):
        raise Unauthorized(
            "send Authorization: Bearer <api key>", headers={"WWW-Authenticate": "Bearer"}
        )
    return header[len(BEARER) :].strip()


async def principal_of(auth: Authenticator, token: str) -> Principal:
    """The principal of a token: from memory when cached (no thread hop), else the database."""
    principal = auth.authenticate_cached(token)
    if principal is None:
        try:
            principal = await run_in_threadpool(auth.authenticate, token)
        except Unauthorized as exc:
            exc.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            raise
    return principal


async def admit(request: Request, scope: str | None) -> tuple[Principal, Decision]:
    """Authenticate, demand the scope (403), take a rate-limit token (429)."""
    state = request.app.state
    auth: Authenticator = state.authenticator
    principal = await principal_of(auth, bearer_token(request))
    request.state.principal = principal
    if scope is not None and not principal.has(scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope")
    rate, burst = auth.limits(principal.key_id)
    rate = rate or state.settings.rate_limit_per_s
    burst = burst or state.settings.rate_limit_burst
    limiter = state.rate_limiter
    key = principal.key_id or principal.org_id
    if isinstance(limiter, MemoryRateLimiter):
        decision = limiter.take_now(key, rate, burst)
    else:
        decision = await limiter.take(key, rate, burst)
    if not decision.allowed:
        raise RateLimited(decision)
    request.state.ratelimit = decision
    return principal, decision


async def authenticated(request: Request) -> Principal:
    """The principal of the request's bearer token (no scope demanded)."""
    principal, _ = await admit(request, None)
    return principal


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates and demands one scope (403 problem when missing)."""

    async def check(request: Request) -> Principal:
        principal, _ = await admit(request, scope)
        return principal

    check.__name__ = f"require_{scope.replace(':', '_')}"
    check.scope = scope  # type: ignore[attr-defined]  # read by openapi.py and tests
    return check


def get_engine(request: Request) -> Engine:
    """The gateway's engine."""
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]
AdminDep = Annotated[Principal, Depends(require_scope("orgs:admin"))]
KeysDep = Annotated[Principal, Depends(require_scope("keys:manage"))]
EventsDep = Annotated[Principal, Depends(require_scope("events:read"))]
WebhooksDep = Annotated[Principal, Depends(require_scope("webhooks:manage"))]
AuditDep = Annotated[Principal, Depends(require_scope("audit:read"))]
