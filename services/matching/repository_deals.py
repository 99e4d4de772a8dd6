"""Matching queries of deals: applications, offers, the capacity ledger, referrals, consents."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.matching.capacity import Exposure
from services.matching.models import (
    Application,
    CapacityReservation,
    Consent,
    MatchingEvent,
    Offer,
    OutcomeOutbox,
    Referral,
    RelatedMember,
)

OPEN_RESERVATION = ("reserved", "outstanding")


def get_application(session: Session, application_id: str) -> Application | None:
    """An application by id."""
    return session.get(Application, application_id)


def lock_application(session: Session, application_id: str) -> Application | None:
    """An application, row-locked until commit (two acceptances of one application serialise)."""
    stmt = (
        select(Application)
        .where(Application.id == application_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def offers_of(session: Session, application_id: str) -> list[Offer]:
    """An application's offers, best first."""
    return list(
        session.exec(
            select(Offer).where(Offer.application_id == application_id).order_by(col(Offer.rank))
        )
    )


def pending_applications(session: Session, limit: int) -> list[Application]:
    """Applications with open offers (status offered), oldest first."""
    return list(
        session.exec(
            select(Application)
            .where(Application.status == "offered")
            .order_by(col(Application.created_at))
            .limit(limit)
        )
    )


def offers_of_many(session: Session, application_ids: list[str]) -> dict[str, list[Offer]]:
    """Offers of many applications, best first, by application id."""
    out: dict[str, list[Offer]] = defaultdict(list)
    if not application_ids:
        return out
    rows = session.exec(
        select(Offer)
        .where(col(Offer.application_id).in_(application_ids))
        .order_by(col(Offer.application_id), col(Offer.rank))
    )
    for offer in rows:
        out[offer.application_id].append(offer)
    return out


def exposures(
    session: Session, platform_org_id: str, firm_ref: str
) -> tuple[dict[str, Exposure], dict[str, Exposure], bool]:
    """Open exposure of every lender and guarantor to a firm and its group; whether in a group."""
    member = session.get(RelatedMember, (platform_org_id, firm_ref))
    firms = [firm_ref]
    if member is not None:
        firms = list(
            session.exec(
                select(RelatedMember.firm_ref).where(RelatedMember.group_id == member.group_id)
            )
        )
    rows = session.execute(
        sa_select(
            col(CapacityReservation.firm_ref),
            col(CapacityReservation.lender_org_id),
            col(CapacityReservation.guarantor_org_id),
            func.sum(CapacityReservation.lender_cny, type_=BigInteger),
            func.sum(CapacityReservation.guarantee_cny, type_=BigInteger),
        )
        .where(
            col(CapacityReservation.platform_org_id) == platform_org_id,
            col(CapacityReservation.firm_ref).in_(firms),
            col(CapacityReservation.status).in_(OPEN_RESERVATION),
        )
        .group_by(
            col(CapacityReservation.firm_ref),
            col(CapacityReservation.lender_org_id),
            col(CapacityReservation.guarantor_org_id),
        )
    ).all()
    in_group = member is not None
    lender: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    guarantor: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for ref, lender_org, guarantor_org, lender_minor, guarantee_minor in rows:
        # SUM over a MinorUnits column comes back as integer minor units.
        lent = Decimal(int(lender_minor or 0)) / 100
        guaranteed = Decimal(int(guarantee_minor or 0)) / 100
        own = 0 if ref == firm_ref else None
        lender[lender_org][1] += lent
        if own is not None:
            lender[lender_org][0] += lent
        if guarantor_org:
            guarantor[guarantor_org][1] += guaranteed
            if own is not None:
                guarantor[guarantor_org][0] += guaranteed
    return (
        {k: Exposure(v[0], v[1], in_group) for k, v in lender.items()},
        {k: Exposure(v[0], v[1], in_group) for k, v in guarantor.items()},
        in_group,
    )


def expired_reservations(session: Session, now: datetime, limit: int) -> list[CapacityReservation]:
    """Reservations still held past their expiry (accepted, never disbursed)."""
    return list(
        session.exec(
            select(CapacityReservation)
            .where(
                CapacityReservation.status == "reserved",
                col(CapacityReservation.expires_at) <= now,
            )
            .order_by(col(CapacityReservation.expires_at))
            .limit(limit)
        )
    )


def lock_reservation(session: Session, reservation_id: str) -> CapacityReservation | None:
    """A reservation, row-locked (taken after the lender's and guarantor's locks)."""
    stmt = (
        select(CapacityReservation)
        .where(CapacityReservation.id == reservation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def get_referral(session: Session, referral_id: str) -> Referral | None:
    """A referral by id."""
    return session.get(Referral, referral_id)


def lock_referral(session: Session, referral_id: str) -> Referral | None:
    """A referral, row-locked (taken after the lender's and guarantor's locks)."""
    stmt = (
        select(Referral)
        .where(Referral.id == referral_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def referral_by_loan(session: Session, loan_id: str) -> Referral | None:
    """The referral that became a loan."""
    return session.exec(select(Referral).where(Referral.loan_id == loan_id)).first()


def referral_of_application(session: Session, application_id: str) -> Referral | None:
    """The referral of an accepted application."""
    return session.exec(select(Referral).where(Referral.application_id == application_id)).first()


def referrals_for(
    session: Session, org_id: str, kind: str, status: str | None, after_id: str, limit: int
) -> list[Referral]:
    """A page of the referrals an organisation is party to (lender, guarantor or platform)."""
    column = {
        "lender": Referral.lender_org_id,
        "guarantor": Referral.guarantor_org_id,
        "platform": Referral.platform_org_id,
    }[kind]
    stmt = select(Referral).where(column == org_id, col(Referral.id) > after_id)
    if status:
        stmt = stmt.where(Referral.status == status)
    return list(session.exec(stmt.order_by(col(Referral.id)).limit(limit + 1)))


def events_of(session: Session, referral_id: str) -> list[MatchingEvent]:
    """A referral's events, oldest first."""
    return list(
        session.exec(
            select(MatchingEvent)
            .where(MatchingEvent.referral_id == referral_id)
            .order_by(col(MatchingEvent.id))
        )
    )


def active_consent(
    session: Session, platform_org_id: str, firm_ref: str, grantee_org_id: str, purpose: str
) -> Consent | None:
    """The unrevoked consent of a firm for a grantee and purpose, if any."""
    return session.exec(
        select(Consent).where(
            Consent.platform_org_id == platform_org_id,
            Consent.firm_ref == firm_ref,
            Consent.grantee_org_id == grantee_org_id,
            Consent.purpose == purpose,
            col(Consent.revoked_at).is_(None),
        )
    ).first()


def consents_of_firm(session: Session, platform_org_id: str, firm_ref: str) -> list[Consent]:
    """Every consent recorded for a firm, oldest first."""
    return list(
        session.exec(
            select(Consent)
            .where(Consent.platform_org_id == platform_org_id, Consent.firm_ref == firm_ref)
            .order_by(col(Consent.created_at), col(Consent.id))
        )
    )


def outbox_due(
    session: Session, now: datetime, limit: int, loan_id: str | None = None
) -> list[OutcomeOutbox]:
    """Undelivered outcomes whose next attempt is due (optionally one loan's)."""
    stmt = select(OutcomeOutbox).where(
        col(OutcomeOutbox.delivered_at).is_(None), OutcomeOutbox.next_attempt_at <= now
    )
    if loan_id is not None:
        stmt = stmt.where(OutcomeOutbox.loan_id == loan_id)
    return list(session.exec(stmt.order_by(col(OutcomeOutbox.id)).limit(limit)))


def referral_of_offer(session: Session, offer_id: str) -> Referral | None:
    """The referral of an accepted offer."""
    return session.exec(select(Referral).where(Referral.offer_id == offer_id)).first()


def open_reservations(session: Session) -> list[CapacityReservation]:
    """Every reservation still holding capacity (reserved or outstanding)."""
    return list(
        session.exec(
            select(CapacityReservation).where(col(CapacityReservation.status).in_(OPEN_RESERVATION))
        )
    )


def all_group_members(session: Session) -> dict[tuple[str, str], str]:
    """Every related-group membership: (platform org id, firm_ref) -> group id."""
    return {
        (m.platform_org_id, m.firm_ref): m.group_id for m in session.exec(select(RelatedMember))
    }
