"""The signed principal header: who the gateway says is calling, HMAC-signed internally."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Annotated

import orjson
from fastapi import Depends, Request

from shared.errors import Forbidden, Unauthorized

PRINCIPAL_HEADER = "x-smefin-principal"
ORG_KINDS = ("admin", "platform", "lender", "guarantor", "service")


@dataclass(frozen=True)
class Principal:
    """The caller of a service: an organisation, its kind and scopes, vouched by the gateway."""

    org_id: str
    kind: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None

    def has(self, scope: str) -> bool:
        """Whether the caller holds a scope."""
        return scope in self.scopes or "*" in self.scopes

    @property
    def is_admin(self) -> bool:
        """Operators (and internal service calls) may act across organisations."""
        return self.kind in {"admin", "service"}


def _mac(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def sign_principal(principal: Principal, secret: str, *, now: float | None = None) -> str:
    """The header value: base64url(JSON of org, kind, scopes, key, timestamp) '.' HMAC-SHA256."""
    payload = orjson.dumps(
        {
            "org": principal.org_id,
            "kind": principal.kind,
            "scopes": sorted(principal.scopes),
            "key": principal.key_id,
            "ts": int(now if now is not None else time.time()),
        }
    )
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=")
    return encoded.decode() + "." + _mac(secret.encode(), encoded)


def verify_principal(
    header: str | None,
    secret: str,
    *,
    max_age_s: int = 60,
    now: float | None = None,
    accepted_secret: str | None = None,
) -> Principal:
    """Check the signature (internal or accepted secret) and age; raise Unauthorized otherwise."""
    if not header:
        raise Unauthorized("missing internal principal: services are called through the gateway")
    try:
        encoded, mac = header.rsplit(".", 1)
    except ValueError:
        raise Unauthorized("malformed internal principal") from None
    valid = hmac.compare_digest(mac, _mac(secret.encode(), encoded.encode()))
    if not valid and accepted_secret:
        valid = hmac.compare_digest(mac, _mac(accepted_secret.encode(), encoded.encode()))
    if not valid:
        raise Unauthorized("bad internal principal signature")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        ts = int(data["ts"])
        principal = Principal(
            org_id=str(data["org"]),
            kind=str(data["kind"]),
            scopes=frozenset(data.get("scopes", [])),
            key_id=data.get("key"),
        )
    except (ValueError, KeyError, TypeError):
        raise Unauthorized("malformed internal principal") from None
    current = now if now is not None else time.time()
    if abs(current - ts) > max_age_s:
        raise Unauthorized("stale internal principal")
    if principal.kind not in ORG_KINDS:
        raise Unauthorized("unknown organisation kind in principal")
    return principal


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller of this request (settings on app.state)."""
    # async although it does no I/O: FastAPI would run a plain def in the thread pool, a
    # thread hop per dependency on every request for one HMAC.
    settings = request.app.state.settings
    accepted = settings.internal_secret_accepted
    return verify_principal(
        request.headers.get(PRINCIPAL_HEADER),
        settings.internal_secret.get_secret_value(),
        max_age_s=settings.principal_max_age_s,
        accepted_secret=accepted.get_secret_value() if accepted else None,
    )


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_kind(principal: Principal, *kinds: str) -> None:
    """Refuse a caller whose organisation kind is not one of `kinds` (admins always pass)."""
    if principal.kind not in kinds and not principal.is_admin:
        raise Forbidden(f"this operation is for organisations of kind {', '.join(kinds)}")
