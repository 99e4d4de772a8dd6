"""Referrals and loans: decisions, loan events, expiry; every transition is an event.

offered -> accepted -> referred -> approved | declined -> disbursed -> repaid | defaulted
(and referred/approved -> expired when the reservation's TTL passes before disbursement).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.matching import events, ledger, outcomes, repository_deals
from services.matching.models import (
    CapacityReservation,
    GuarantorProfile,
    LenderProfile,
    Referral,
    new_id,
)
from services.matching.schemas_deals import DecisionIn, LoanEventIn, ReferralPublic
from shared.db import utcnow, write_session
from shared.errors import AppError, Conflict, NotFound, field_error
from shared.internal_auth import Principal


class IllegalTransition(Conflict):
    """The referral or loan is not in a state that allows this."""

    code, title = "illegal-transition", "Illegal transition"


def role_of(referral: Referral, principal: Principal) -> str | None:
    """Which party of the referral the caller is (lender, guarantor, platform), if any."""
    if principal.org_id == referral.lender_org_id:
        return "lender"
    if referral.guarantor_org_id and principal.org_id == referral.guarantor_org_id:
        return "guarantor"
    if principal.org_id == referral.platform_org_id:
        return "platform"
    return None


def visible_referral(session: Session, principal: Principal, referral_id: str) -> Referral:
    """A referral the caller is party to; 404 otherwise (others' referrals do not exist)."""
    referral = repository_deals.get_referral(session, referral_id)
    if referral is None or (role_of(referral, principal) is None and not principal.is_admin):
        raise NotFound(f"referral {referral_id!r} not found")
    return referral


def public(referral: Referral) -> ReferralPublic:
    """The public view of a referral."""
    return ReferralPublic.model_validate(referral, from_attributes=True)


def _locked(
    session: Session, referral: Referral
) -> tuple[Referral, CapacityReservation, LenderProfile | None, GuarantorProfile | None]:
    lender, guarantor = ledger.lock_parties(
        session, referral.lender_org_id, referral.guarantor_org_id
    )
    reservation = repository_deals.lock_reservation(session, referral.reservation_id)
    locked = repository_deals.lock_referral(session, referral.id)
    assert reservation is not None and locked is not None
    return locked, reservation, lender, guarantor


def decide(
    engine: Engine, principal: Principal, referral_id: str, data: DecisionIn
) -> ReferralPublic:
    """The lender's or guarantor's decision; a guaranteed referral is approved when both approve."""
    now = utcnow()
    with write_session(engine) as session:
        found = visible_referral(session, principal, referral_id)
        role = role_of(found, principal)
        if role not in ("lender", "guarantor"):
            raise NotFound(f"referral {referral_id!r} not found")
        referral, reservation, lender, guarantor = _locked(session, found)
        if referral.status != "referred":
            raise IllegalTransition(
                f"referral is {referral.status}; only a referred one is decided"
            )
        field = "lender_decision" if role == "lender" else "guarantor_decision"
        if getattr(referral, field) is not None:
            raise IllegalTransition(f"the {role} has already decided this referral")
        outcome = "approved" if data.decision == "approve" else "declined"
        setattr(referral, field, outcome)
        referral.updated_at = now
        events.record(
            session, f"referral.{role}_{outcome}", referral, principal.org_id, note=data.note
        )
        if outcome == "declined":
            referral.status = "declined"
            ledger.release(session, reservation, lender, guarantor, now)
            events.record(session, "referral.declined", referral, principal.org_id, by=role)
        elif referral.lender_decision == "approved" and (
            referral.guarantor_org_id is None or referral.guarantor_decision == "approved"
        ):
            referral.status = "approved"
            referral.loan_id = new_id("loan")
            events.record(
                session, "referral.approved", referral, principal.org_id, loan_id=referral.loan_id
            )
        session.add(referral)
        session.commit()
        return public(referral)


_EVENT_FROM = {
    "disbursed": ("approved",),
    "repayment": ("disbursed",),
    "days_overdue": ("disbursed",),
    "default": ("disbursed",),
    "repaid": ("disbursed",),
}


def loan_event(
    engine: Engine, principal: Principal, loan_id: str, data: LoanEventIn
) -> ReferralPublic:
    """A lender reports what happened to its loan; exposure moves and outcomes reach credit."""
    now = utcnow()
    observed = data.occurred_at or now
    with write_session(engine) as session:
        found = repository_deals.referral_by_loan(session, loan_id)
        if found is None or found.lender_org_id != principal.org_id:
            raise NotFound(f"loan {loan_id!r} not found")
        referral, reservation, lender, guarantor = _locked(session, found)
        if referral.status not in _EVENT_FROM[data.kind]:
            raise IllegalTransition(
                f"loan is {referral.status}; a {data.kind} event is not allowed"
            )
        payload: dict[str, object] = {"loan_id": loan_id, "occurred_at": observed.isoformat()}
        if data.kind == "disbursed":
            referral.status = "disbursed"
            referral.outstanding_cny = referral.amount_cny
            ledger.convert(session, reservation, now)
        elif data.kind == "repayment":
            assert data.principal_cny is not None and lender is not None
            if data.principal_cny > referral.outstanding_cny:
                raise AppError(
                    f"principal_cny {data.principal_cny} is above the outstanding "
                    f"{referral.outstanding_cny}",
                    status=422,
                    errors=[
                        field_error(("body", "principal_cny"), "above the outstanding principal")
                    ],
                )
            referral.outstanding_cny -= data.principal_cny
            ledger.reduce(session, reservation, data.principal_cny, lender, guarantor, now)
            payload["principal_cny"] = str(data.principal_cny)
        elif data.kind == "days_overdue":
            assert data.days_overdue is not None
            referral.days_overdue = data.days_overdue
            payload["days_overdue"] = data.days_overdue
        else:
            referral.status = "defaulted" if data.kind == "default" else "repaid"
            if data.kind == "repaid":
                referral.outstanding_cny = referral.amount_cny * 0
                referral.days_overdue = 0
            ledger.release(session, reservation, lender, guarantor, now)
            outcomes.enqueue(session, referral, referral.status, observed)
        referral.updated_at = now
        session.add(referral)
        events.record(session, f"loan.{data.kind}", referral, principal.org_id, **payload)
        session.commit()
        return public(referral)


def expire_reservations(engine: Engine, now: datetime | None = None, limit: int = 100) -> int:
    """Release reservations past their TTL (never disbursed); their referrals expire."""
    now = now or utcnow()
    with Session(engine) as session:
        due = [
            (r.id, r.lender_org_id, r.guarantor_org_id)
            for r in repository_deals.expired_reservations(session, now, limit)
        ]
    released = 0
    for reservation_id, lender_org_id, guarantor_org_id in due:
        with write_session(engine) as session:
            lender, guarantor = ledger.lock_parties(session, lender_org_id, guarantor_org_id)
            reservation = repository_deals.lock_reservation(session, reservation_id)
            if (
                reservation is None
                or reservation.status != "reserved"
                or reservation.expires_at is None
                or reservation.expires_at > now
            ):
                continue
            ledger.release(session, reservation, lender, guarantor, now)
            referral = repository_deals.referral_of_offer(session, reservation.offer_id)
            if referral is not None and referral.status in ("accepted", "referred", "approved"):
                referral.status = "expired"
                referral.updated_at = now
                session.add(referral)
                events.record(session, "referral.expired", referral, "matching")
            session.commit()
            released += 1
    return released
