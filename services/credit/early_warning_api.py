"""Early-warning routes: matching sets the monitored firms; lenders and guarantors read hits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from services.credit import early_warning
from services.credit.deps import EngineDep
from services.credit.early_warning_rules import DEFAULT_RULES
from shared.errors import AppError, field_error
from shared.internal_auth import Principal, PrincipalDep, require_kind
from shared.pagination import Page, PageParams, decode_cursor, make_page, page_params

router = APIRouter(prefix="/v1")
ORG_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class MonitoredIn(BaseModel):
    """The lenders and guarantors exposed to a firm now (empty: none)."""

    model_config = ConfigDict(extra="forbid")

    org_ids: list[Annotated[str, Field(pattern=ORG_PATTERN)]] = Field(max_length=100)


class WarningPublic(BaseModel):
    """One early warning: which firm, which rule, and the numbers that triggered it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    platform_org_id: str
    firm_ref: str
    rule: str
    month: str
    evidence: dict[str, Any]
    created_at: datetime


def _party(principal: PrincipalDep) -> Principal:
    require_kind(principal, "lender", "guarantor")
    return principal


PartyDep = Annotated[Principal, Depends(_party)]


def _service(principal: PrincipalDep) -> Principal:
    require_kind(principal, "service")
    return principal


@router.put("/monitored-firms/{platform_org_id}/{firm_ref}", include_in_schema=False)
def put_monitored(
    platform_org_id: Annotated[str, Path(pattern=ORG_PATTERN)],
    firm_ref: Annotated[str, Path(min_length=1, max_length=128)],
    body: MonitoredIn,
    principal: Annotated[Principal, Depends(_service)],
    engine: EngineDep,
) -> dict[str, Any]:
    """Matching (a service principal) says who is exposed to a firm; the firm is checked at once."""
    early_warning.set_monitored(engine, platform_org_id, firm_ref, body.org_ids)
    return {"platform_org_id": platform_org_id, "firm_ref": firm_ref, "org_ids": body.org_ids}


@router.get("/early-warning-rules", tags=["early-warnings"])
def get_rules(principal: PartyDep, engine: EngineDep) -> dict[str, dict[str, Any]]:
    """The caller's early-warning thresholds in force."""
    return early_warning.get_rules(engine, principal.org_id)


@router.put("/early-warning-rules", tags=["early-warnings"])
def put_rules(
    body: dict[str, dict[str, float | int | bool]], principal: PartyDep, engine: EngineDep
) -> dict[str, dict[str, Any]]:
    """Set the caller's thresholds; rules and settings left out keep the defaults."""
    errors = []
    for code, settings in body.items():
        if code not in DEFAULT_RULES:
            errors.append(
                field_error(("body", code), f"unknown rule; one of {list(DEFAULT_RULES)}")
            )
            continue
        for key, value in settings.items():
            if key != "enabled" and key not in DEFAULT_RULES[code]:
                errors.append(field_error(("body", code, key), "unknown setting"))
            elif key != "enabled" and (isinstance(value, bool) or value <= 0):
                errors.append(field_error(("body", code, key), "must be a positive number"))
    if errors:
        raise AppError("invalid early-warning rules", status=422, errors=errors)
    return early_warning.put_rules(engine, principal.org_id, body)


@router.get("/early-warnings", response_model=Page[WarningPublic], tags=["early-warnings"])
def list_warnings(
    principal: PartyDep, engine: EngineDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[WarningPublic]:
    """Early warnings on the firms the caller is exposed to, newest first."""
    raw = decode_cursor(page.cursor)
    after = int(raw) if raw and raw.isdigit() else 0
    rows = early_warning.list_warnings(engine, principal.org_id, after, page.limit)
    result = make_page(rows, page.limit, lambda r: str(r.id))
    return Page[WarningPublic](
        items=[WarningPublic.model_validate(r) for r in result.items],
        next_cursor=result.next_cursor,
    )
