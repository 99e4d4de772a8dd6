"""Matching dependencies: engine, settings, catalogue cache, credit client, caller checks."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from services.matching.catalogue import CatalogueCache
from services.matching.config import MatchingSettings
from services.matching.credit_client import CreditClient
from shared.internal_auth import Principal, PrincipalDep, require_kind

M = TypeVar("M", bound=BaseModel)


async def get_engine(request: Request) -> Engine:
    """The service's engine."""
    return request.app.state.engine


async def get_settings(request: Request) -> MatchingSettings:
    """The service's settings."""
    return request.app.state.settings


async def get_credit(request: Request) -> CreditClient:
    """The pooled credit client."""
    return request.app.state.credit


async def get_cache(request: Request) -> CatalogueCache:
    """The process's catalogue cache."""
    return request.app.state.catalogue


async def lender_principal(principal: PrincipalDep) -> Principal:
    """A caller that is a lender."""
    require_kind(principal, "lender")
    return principal


async def guarantor_principal(principal: PrincipalDep) -> Principal:
    """A caller that is a guarantor."""
    require_kind(principal, "guarantor")
    return principal


async def party_principal(principal: PrincipalDep) -> Principal:
    """A caller that is a lender or a guarantor."""
    require_kind(principal, "lender", "guarantor")
    return principal


async def platform_principal(principal: PrincipalDep) -> Principal:
    """A caller that is a platform."""
    require_kind(principal, "platform")
    return principal


def parse_body(model: type[M], body: Any) -> M:
    """Validate a body whose schema depends on the caller; faults render like FastAPI's own 422."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[MatchingSettings, Depends(get_settings)]
CreditDep = Annotated[CreditClient, Depends(get_credit)]
CacheDep = Annotated[CatalogueCache, Depends(get_cache)]
LenderDep = Annotated[Principal, Depends(lender_principal)]
GuarantorDep = Annotated[Principal, Depends(guarantor_principal)]
PartyDep = Annotated[Principal, Depends(party_principal)]
PlatformDep = Annotated[Principal, Depends(platform_principal)]
