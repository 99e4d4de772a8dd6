"""Credit dependencies: settings, engine, and lookups that 404 for other platforms' firms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import service
from services.credit.config import CreditSettings
from services.credit.models import Firm
from services.credit.schemas import FirmRef
from shared.internal_auth import Principal, PrincipalDep, require_kind


async def get_engine(request: Request) -> Engine:
    """The service's engine (set in the lifespan)."""
    return request.app.state.engine


async def get_settings(request: Request) -> CreditSettings:
    """The service's settings."""
    return request.app.state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[CreditSettings, Depends(get_settings)]


async def platform_principal(principal: PrincipalDep) -> Principal:
    """A caller allowed to manage firms: a platform (or an operator)."""
    require_kind(principal, "platform")
    return principal


PlatformDep = Annotated[Principal, Depends(platform_principal)]


def owned_firm(
    firm_ref: Annotated[FirmRef, Path()], principal: PlatformDep, engine: EngineDep
) -> Firm:
    """The caller's firm named in the path, or 404."""
    with Session(engine) as session:
        return service.get_firm(session, principal.org_id, firm_ref)


FirmDep = Annotated[Firm, Depends(owned_firm)]
