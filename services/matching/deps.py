"""Matching dependencies: engine, settings, credit client, caller checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from services.matching.config import MatchingSettings
from services.matching.credit_client import CreditClient
from shared.internal_auth import Principal, PrincipalDep, require_kind


def get_engine(request: Request) -> Engine:
    """The service's engine."""
    return request.app.state.engine  # type: ignore[no-any-return]


def get_settings(request: Request) -> MatchingSettings:
    """The service's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_credit(request: Request) -> CreditClient:
    """The pooled credit client."""
    return request.app.state.credit  # type: ignore[no-any-return]


def lender_principal(principal: PrincipalDep) -> Principal:
    """A caller that is a lender."""
    require_kind(principal, "lender")
    return principal


def platform_principal(principal: PrincipalDep) -> Principal:
    """A caller that is a platform."""
    require_kind(principal, "platform")
    return principal


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[MatchingSettings, Depends(get_settings)]
CreditDep = Annotated[CreditClient, Depends(get_credit)]
LenderDep = Annotated[Principal, Depends(lender_principal)]
PlatformDep = Annotated[Principal, Depends(platform_principal)]
