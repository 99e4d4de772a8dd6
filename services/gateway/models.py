"""Gateway tables: organisations and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column
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
