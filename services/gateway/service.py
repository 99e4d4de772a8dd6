"""Gateway use cases: organisations, keys, and turning a bearer token into a principal."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.gateway import keys, repository
from services.gateway.models import ApiKey, Organization
from services.gateway.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyPublic,
    OrganizationIn,
    OrganizationPublic,
)
from services.gateway.scopes import DEFAULT_SCOPES
from shared.db import utcnow, write_session
from shared.errors import NotFound, Unauthorized, Unprocessable, field_error
from shared.internal_auth import Principal

ADMIN_ORG_ID = "org_admin"
ADMIN_KEY_ID = "bootstrap-admin"
# last_used_at is written at most this often per key, so reads do not become writes.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def ensure_admin_org(engine: Engine) -> None:
    """The operator's own organisation exists."""
    try:
        with write_session(engine) as session:
            if repository.get_org(session, ADMIN_ORG_ID) is None:
                session.add(Organization(id=ADMIN_ORG_ID, name="smefin operator", kind="admin"))
                session.commit()
    except IntegrityError:
        pass  # another replica, starting at the same moment, created it first


def create_org(engine: Engine, data: OrganizationIn) -> OrganizationPublic:
    """A new platform, lender or guarantor."""
    with write_session(engine) as session:
        org = Organization(name=data.name, kind=data.kind)
        session.add(org)
        session.commit()
        return OrganizationPublic.model_validate(org, from_attributes=True)


def create_key(engine: Engine, org_id: str, data: ApiKeyIn) -> ApiKeyCreated:
    """Mint a key for an organisation; its token is returned once and only its hash is kept."""
    with write_session(engine) as session:
        org = repository.get_org(session, org_id)
        if org is None:
            raise NotFound(f"organization {org_id!r} not found")
        allowed = DEFAULT_SCOPES[org.kind]
        scopes = data.scopes if data.scopes is not None else allowed
        extra = sorted(set(scopes) - set(allowed))
        if extra:
            raise Unprocessable(
                f"scope {extra[0]!r} is not available to a {org.kind}",
                errors=[field_error(("body", "scopes"), f"allowed: {', '.join(allowed)}")],
            )
        if data.expires_at is not None and data.expires_at <= utcnow():
            raise Unprocessable(
                "expires_at is in the past",
                errors=[field_error(("body", "expires_at"), "must be in the future")],
            )
        minted = keys.mint()
        record = ApiKey(
            id=minted.key_id,
            org_id=org_id,
            name=data.name,
            prefix=minted.prefix,
            secret_hash=minted.secret_hash,
            scopes=sorted(set(scopes)),
            expires_at=data.expires_at,
        )
        session.add(record)
        session.commit()
        public = ApiKeyPublic.model_validate(record, from_attributes=True)
        return ApiKeyCreated(**public.model_dump(), token=minted.token)


def revoke_key(engine: Engine, principal: Principal, key_id: str) -> ApiKeyPublic:
    """Revoke a key of the caller's organisation (an operator may revoke any)."""
    with write_session(engine) as session:
        record = repository.get_key(session, key_id)
        if record is None or (record.org_id != principal.org_id and not principal.is_admin):
            raise NotFound(f"api key {key_id!r} not found")
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            session.add(record)
            session.commit()
        return ApiKeyPublic.model_validate(record, from_attributes=True)


@dataclass
class _CachedKey:
    org_id: str
    kind: str
    scopes: frozenset[str]
    secret_hash: str
    expires_at: datetime | None
    revoked: bool
    fetched: float
    last_used_written: datetime | None
    rate: float | None
    burst: int | None


class Authenticator:
    """Bearer token -> principal, with a short cache so most requests skip the database."""

    def __init__(self, engine: Engine, admin_key: str | None, cache_ttl_s: float) -> None:
        self.engine = engine
        self._admin_hash = hashlib.sha256(admin_key.encode()).digest() if admin_key else None
        self._ttl = cache_ttl_s
        self._cache: dict[str, _CachedKey] = {}
        self._lock = threading.Lock()

    def authenticate(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized otherwise (one answer for every failure)."""
        if self._admin_hash is not None and hmac.compare_digest(
            hashlib.sha256(token.encode()).digest(), self._admin_hash
        ):
            return Principal(
                ADMIN_ORG_ID, "admin", frozenset(DEFAULT_SCOPES["admin"]), ADMIN_KEY_ID
            )
        parsed = keys.parse(token)
        if parsed is None:
            raise Unauthorized("invalid API key")
        key_id, secret = parsed
        entry = self._lookup(key_id)
        now = utcnow()
        if (
            entry is None
            or not keys.matches(secret, entry.secret_hash)
            or entry.revoked
            or (entry.expires_at is not None and entry.expires_at <= now)
        ):
            raise Unauthorized("invalid, expired or revoked API key")
        if entry.last_used_written is None or now - entry.last_used_written > LAST_USED_RESOLUTION:
            entry.last_used_written = now
            self._touch(key_id, now)
        return Principal(entry.org_id, entry.kind, entry.scopes, key_id)

    def authenticate_cached(self, token: str) -> Principal | None:
        """The principal when the answer is in memory and needs no write; None to go slow."""
        parsed = keys.parse(token)
        if parsed is None:
            return None
        cached = self._cache.get(parsed[0])
        if cached is None or time.monotonic() - cached.fetched >= self._ttl:
            return None
        now = utcnow()
        if (
            cached.last_used_written is None
            or now - cached.last_used_written > LAST_USED_RESOLUTION
        ):
            return None
        if (
            not keys.matches(parsed[1], cached.secret_hash)
            or cached.revoked
            or (cached.expires_at is not None and cached.expires_at <= now)
        ):
            return None
        return Principal(cached.org_id, cached.kind, cached.scopes, parsed[0])

    def limits(self, key_id: str | None) -> tuple[float | None, int | None]:
        """The organisation's own token bucket for a key, if it has one (None: defaults)."""
        entry = self._cache.get(key_id) if key_id else None
        return (entry.rate, entry.burst) if entry is not None else (None, None)

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after revocation on this replica)."""
        with self._lock:
            self._cache.pop(key_id, None)

    def _lookup(self, key_id: str) -> _CachedKey | None:
        cached = self._cache.get(key_id)
        if cached is not None and time.monotonic() - cached.fetched < self._ttl:
            return cached
        with Session(self.engine) as session:
            record = repository.get_key(session, key_id)
            org = repository.get_org(session, record.org_id) if record else None
        if record is None or org is None:
            return None
        entry = _CachedKey(
            org_id=record.org_id,
            kind=org.kind,
            scopes=frozenset(record.scopes),
            secret_hash=record.secret_hash,
            expires_at=record.expires_at,
            revoked=record.revoked_at is not None,
            fetched=time.monotonic(),
            last_used_written=cached.last_used_written if cached else record.last_used_at,
            rate=org.rate_limit_per_s,
            burst=org.rate_limit_burst,
        )
        with self._lock:
            self._cache[key_id] = entry
        return entry

    def forget_all(self) -> None:
        """Drop every cached key (an organisation's limits changed, or on demand)."""
        with self._lock:
            self._cache.clear()

    def _touch(self, key_id: str, now: datetime) -> None:
        with write_session(self.engine) as session:
            record = repository.get_key(session, key_id)
            if record is not None:
                record.last_used_at = now
                session.add(record)
                session.commit()
