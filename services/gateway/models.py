"""Gateway tables: organisations and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Integer, LargeBinary, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, naming_metadata, utcnow

gateway_registry = registry(metadata=naming_metadata())


def new_org_id() -> str:
    """A public organisation id."""
    return f"org_{uuid.uuid4().hex}"


class GatewayBase(SQLModel, registry=gateway_registry):
    """Base of every gateway table."""


class Organization(GatewayBase, table=True):
    """A platform, lender, guarantor, or the operator itself."""

    __tablename__ = "organization"

    id: str = Field(default_factory=new_org_id, primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    # Token bucket per key of this organisation; null means the gateway's defaults.
    rate_limit_per_s: float | None = None
    rate_limit_burst: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(GatewayBase, table=True):
    """An API key: only its id, visible prefix and the hash of its secret are stored."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=64)
    name: str = Field(default="", max_length=200)
    prefix: str = Field(max_length=40)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# SQLite only auto-increments an INTEGER PRIMARY KEY, so BIGINT ids fall back to INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(GatewayBase, table=True):
    """One public request: who, what, when. Append-only (no code path updates or deletes)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    request_id: str = Field(max_length=128)
    org_id: str | None = Field(default=None, max_length=64, index=True)
    key_id: str | None = Field(default=None, max_length=32)
    method: str = Field(max_length=8)
    route: str = Field(max_length=200)
    resource_id: str | None = Field(default=None, max_length=200)
    status: int
    duration_ms: float


class IdempotencyRecord(GatewayBase, table=True):
    """A POST seen with an Idempotency-Key: its body fingerprint and, once done, its response."""

    __tablename__ = "idempotency_record"

    org_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=8)  # running | done
    response_status: int | None = None
    response_headers: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class GatewayEvent(GatewayBase, table=True):
    """A domain event collected from a service's outbox, one row per organisation that sees it."""

    __tablename__ = "gateway_event"
    __table_args__ = (UniqueConstraint("org_id", "event_id"),)

    seq: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    org_id: str = Field(max_length=64, index=True)
    event_id: str = Field(max_length=40)
    type: str = Field(max_length=80)
    source: str = Field(max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class EventCursor(GatewayBase, table=True):
    """How far the gateway has read each service's outbox."""

    __tablename__ = "event_cursor"

    service: str = Field(primary_key=True, max_length=16)
    last_seq: int = Field(default=0, sa_type=BigInteger)


class WebhookEndpoint(GatewayBase, table=True):
    """Where an organisation wants its events POSTed, and the secret(s) that sign them."""

    __tablename__ = "webhook_endpoint"

    id: str = Field(default_factory=lambda: f"whe_{uuid.uuid4().hex}", primary_key=True)
    org_id: str = Field(max_length=64, index=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=100)
    # During rotation the old secret keeps signing too, until it expires.
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(GatewayBase, table=True):
    """One event owed to one endpoint; retried until it succeeds or the schedule runs out."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    endpoint_id: str = Field(foreign_key="webhook_endpoint.id", index=True, max_length=40)
    org_id: str = Field(max_length=64)
    event_seq: int = Field(sa_type=BigInteger)
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=80)
    status: str = Field(default="pending", max_length=12)  # pending | succeeded | failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(GatewayBase, table=True):
    """The delivery log: every attempt, its answer and how long it took."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    delivery_id: int = Field(sa_type=BigInteger, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: float
