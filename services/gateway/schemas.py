"""Gateway request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from shared.types import Rfc3339


class OrganizationIn(BaseModel):
    """A new organisation."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["platform", "lender", "guarantor"]


class OrganizationPublic(BaseModel):
    """An organisation."""

    id: str
    name: str
    kind: str
    rate_limit_per_s: float | None = None
    rate_limit_burst: int | None = None
    created_at: datetime


class ApiKeyIn(BaseModel):
    """A new key for an organisation; scopes default to those of its kind."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    scopes: list[str] | None = Field(default=None, max_length=32)
    expires_at: Rfc3339 | None = None


class ApiKeyPublic(BaseModel):
    """A key as listed: never its secret."""

    id: str
    org_id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    """A key just created: the token is shown this once and never again."""

    token: str


class EventPublic(BaseModel):
    """A domain event as its organisation sees it (also the body of a webhook delivery)."""

    id: str = Field(examples=["evt_3f2a9c0b7d6e4e1f8a2b5c6d7e8f9a0b"])
    type: str = Field(examples=["application.created"])
    source: str = Field(examples=["matching"])
    data: dict[str, Any]
    request_id: str | None = None
    created_at: datetime


class WebhookEndpointIn(BaseModel):
    """A new webhook endpoint: where to POST, and which event types (empty: all)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, examples=["https://platform.example/hooks/smefin"])
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(default_factory=list, max_length=50)


class WebhookEndpointPublic(BaseModel):
    """A webhook endpoint (its secret is shown only when created or rotated)."""

    id: str
    url: str
    description: str
    event_types: list[str]
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    """An endpoint just created or rotated: its whsec_ signing secret, this once."""

    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class RotateSecretIn(BaseModel):
    """How long the old secret keeps signing alongside the new one."""

    model_config = ConfigDict(extra="forbid")

    grace_period_s: StrictInt = Field(default=86400, ge=0, le=7 * 86400)


class WebhookAttemptPublic(BaseModel):
    """One attempt of a delivery."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class WebhookDeliveryPublic(BaseModel):
    """One event owed to one endpoint, and its attempts (the delivery log)."""

    id: int
    endpoint_id: str
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[WebhookAttemptPublic] = Field(default_factory=list)


class AuditEventPublic(BaseModel):
    """One audited request."""

    id: int
    at: datetime
    request_id: str
    org_id: str | None
    key_id: str | None
    method: str
    route: str
    resource_id: str | None
    status: int
    duration_ms: float


class OrganizationLimitsIn(BaseModel):
    """An organisation's own token bucket per key (null: the gateway default)."""

    model_config = ConfigDict(extra="forbid")

    rate_limit_per_s: StrictFloat | None = Field(default=None, gt=0, le=100_000)
    rate_limit_burst: StrictInt | None = Field(default=None, ge=1, le=1_000_000)
