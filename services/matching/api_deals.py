"""Deal routes: applications and offers, referrals and decisions, loan events, consents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from services.matching import (
    applications,
    consents,
    monitoring,
    outcomes,
    referrals,
    repository_deals,
)
from services.matching.deps import (
    CacheDep,
    CreditDep,
    EngineDep,
    LenderDep,
    PartyDep,
    PlatformDep,
    SettingsDep,
)
from services.matching.schemas_deals import (
    FIRM_REF_PATTERN,
    AcceptIn,
    ApplicationIn,
    ApplicationPublic,
    ConsentIn,
    ConsentPublic,
    DecisionIn,
    EventPublic,
    LoanEventIn,
    ReferralPublic,
    SharedFirmData,
)
from shared.internal_auth import PrincipalDep
from shared.pagination import Page, PageParams, decode_cursor, make_page, page_params

router = APIRouter(prefix="/v1")
PageDep = Annotated[PageParams, Depends(page_params)]
FirmRefPath = Annotated[str, Path(min_length=1, max_length=128, pattern=FIRM_REF_PATTERN)]


@router.post(
    "/applications", response_model=ApplicationPublic, status_code=201, tags=["applications"]
)
def post_application(
    body: ApplicationIn,
    principal: PlatformDep,
    engine: EngineDep,
    settings: SettingsDep,
    cache: CacheDep,
    credit: CreditDep,
) -> ApplicationPublic:
    """Apply for a firm: ranked offers and the reasons every other combination was not offered."""
    return applications.create_application(engine, settings, cache, credit, principal, body)


@router.get(
    "/applications/{application_id}", response_model=ApplicationPublic, tags=["applications"]
)
def get_application(
    application_id: str, principal: PrincipalDep, engine: EngineDep
) -> ApplicationPublic:
    """One of the caller's applications."""
    return applications.get_application(engine, principal, application_id)


@router.post(
    "/applications/{application_id}/accept", response_model=ApplicationPublic, tags=["applications"]
)
def accept(
    application_id: str,
    body: AcceptIn,
    principal: PlatformDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> ApplicationPublic:
    """Take one offer: capacity is reserved atomically and the lender receives a referral."""
    return applications.accept_offer(engine, settings, principal, application_id, body.offer_id)


@router.get("/referrals", response_model=Page[ReferralPublic], tags=["referrals"])
def list_referrals(
    principal: PrincipalDep,
    engine: EngineDep,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[ReferralPublic]:
    """The referrals the caller is party to (a lender or guarantor sees only its own)."""
    kind = principal.kind if principal.kind in ("lender", "guarantor") else "platform"
    with Session(engine) as session:
        rows = repository_deals.referrals_for(
            session, principal.org_id, kind, status, decode_cursor(page.cursor) or "", page.limit
        )
    result = make_page(rows, page.limit, lambda r: r.id)
    return Page[ReferralPublic](
        items=[referrals.public(r) for r in result.items], next_cursor=result.next_cursor
    )


@router.get("/referrals/{referral_id}", response_model=ReferralPublic, tags=["referrals"])
def get_referral(referral_id: str, principal: PrincipalDep, engine: EngineDep) -> ReferralPublic:
    """One referral the caller is party to."""
    with Session(engine) as session:
        return referrals.public(referrals.visible_referral(session, principal, referral_id))


@router.get("/referrals/{referral_id}/events", response_model=list[EventPublic], tags=["referrals"])
def referral_events(
    referral_id: str, principal: PrincipalDep, engine: EngineDep
) -> list[EventPublic]:
    """Every transition of a referral and its loan, oldest first."""
    with Session(engine) as session:
        referrals.visible_referral(session, principal, referral_id)
        return [
            EventPublic.model_validate(e, from_attributes=True)
            for e in repository_deals.events_of(session, referral_id)
        ]


@router.post("/referrals/{referral_id}/decision", response_model=ReferralPublic, tags=["referrals"])
def decide(
    referral_id: str, body: DecisionIn, principal: PartyDep, engine: EngineDep, credit: CreditDep
) -> ReferralPublic:
    """Approve or decline a referral (lender, and guarantor where a guarantee is involved)."""
    result = referrals.decide(engine, principal, referral_id, body)
    monitoring.sync_firm(engine, credit, result.platform_org_id, result.firm_ref)
    return result


@router.get("/referrals/{referral_id}/firm-data", response_model=SharedFirmData, tags=["referrals"])
def firm_data(
    referral_id: str, principal: PartyDep, engine: EngineDep, credit: CreditDep
) -> SharedFirmData:
    """The referred firm's metrics, score and reasons, under the firm's recorded consent."""
    return consents.shared_firm_data(engine, credit, principal, referral_id)


@router.post("/loans/{loan_id}/events", response_model=ReferralPublic, tags=["loans"])
async def post_loan_event(
    loan_id: str, body: LoanEventIn, principal: LenderDep, engine: EngineDep, credit: CreditDep
) -> ReferralPublic:
    """Report a loan event (disbursed, repayment, days_overdue, default, repaid)."""
    result = await run_in_threadpool(referrals.loan_event, engine, principal, loan_id, body)
    if result.status in ("defaulted", "repaid"):
        # Best effort now; the outbox keeps the outcome for the upkeep loop if credit is down.
        await run_in_threadpool(outcomes.deliver_due, engine, credit, loan_id=loan_id)
    await run_in_threadpool(
        monitoring.sync_firm, engine, credit, result.platform_org_id, result.firm_ref
    )
    return result


@router.post(
    "/firms/{firm_ref}/consents", response_model=ConsentPublic, status_code=201, tags=["consents"]
)
def post_consent(
    firm_ref: FirmRefPath,
    body: ConsentIn,
    principal: PlatformDep,
    engine: EngineDep,
    credit: CreditDep,
) -> ConsentPublic:
    """Record the firm's consent for a lender or guarantor to see its data for a purpose."""
    return consents.grant(engine, credit, principal, firm_ref, body)


@router.get("/firms/{firm_ref}/consents", response_model=list[ConsentPublic], tags=["consents"])
def list_consents(
    firm_ref: FirmRefPath, principal: PlatformDep, engine: EngineDep, credit: CreditDep
) -> list[ConsentPublic]:
    """Every consent of one of the caller's firms."""
    return consents.list_for_firm(engine, credit, principal, firm_ref)


@router.delete(
    "/firms/{firm_ref}/consents/{consent_id}", response_model=ConsentPublic, tags=["consents"]
)
def delete_consent(
    firm_ref: FirmRefPath, consent_id: str, principal: PlatformDep, engine: EngineDep
) -> ConsentPublic:
    """Revoke a consent: nothing more is shared under it."""
    return consents.revoke(engine, principal, firm_ref, consent_id)
