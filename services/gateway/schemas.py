"""Gateway request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    created_at: datetime


class ApiKeyIn(BaseModel):
    """A new key for an organisation; scopes default to those of its kind."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    scopes: list[str] | None = Field(default=None, max_length=32)
    expires_at: datetime | None = None


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
