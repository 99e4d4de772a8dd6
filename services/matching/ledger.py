"""The capacity ledger: reserve, convert, reduce and release lender budget and guarantor liability.

Every function runs inside the caller's write transaction. Lock order, always: the lender's
profile row, then the guarantor's, then the reservation and referral rows. On PostgreSQL the
profile row locks serialise every change of one holder's capacity, so the limit checks below
read figures no other transaction can change before commit; on SQLite the write transaction
(BEGIN IMMEDIATE) serialises all writers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from services.matching import capacity as cap
from services.matching import repository, repository_deals
from services.matching.models import (
    Application,
    CapacityReservation,
    GuarantorProfile,
    LenderProfile,
    Offer,
)
from shared.errors import Conflict

CENT = Decimal("0.01")


class CapacityExceeded(Conflict):
    """Accepting would overdraw a lender's or guarantor's limit."""

    code, title = "capacity-exceeded", "Capacity exceeded"


def lock_parties(
    session: Session, lender_org_id: str, guarantor_org_id: str | None
) -> tuple[LenderProfile | None, GuarantorProfile | None]:
    """Lock the lender's then the guarantor's profile row (always in this order)."""
    lender = repository.lock_lender(session, lender_org_id)
    guarantor = repository.lock_guarantor(session, guarantor_org_id) if guarantor_org_id else None
    return lender, guarantor


def reserve(
    session: Session, application: Application, offer: Offer, now: datetime, ttl_hours: float
) -> CapacityReservation:
    """Hold the offer's amount of lender budget and guarantor liability, or refuse with reasons."""
    lender, guarantor = lock_parties(session, offer.lender_org_id, offer.guarantor_org_id)
    reasons: list[str] = []
    lender_exp, guarantor_exp, in_group = repository_deals.exposures(
        session, application.platform_org_id, application.firm_ref
    )
    empty = cap.Exposure(in_group=in_group)
    if lender is None:
        reasons.append(cap.NO_LENDER_PROFILE)
    else:
        reasons += cap.lender_shortfalls(
            cap.lender_limits(lender), lender_exp.get(lender.org_id, empty), offer.amount_cny
        )
    if offer.guarantor_org_id:
        if guarantor is None:
            reasons.append(cap.NO_GUARANTOR_PROFILE)
        else:
            reasons += cap.guarantor_shortfalls(
                cap.guarantor_limits(guarantor),
                guarantor_exp.get(guarantor.org_id, empty),
                offer.guaranteed_cny,
            )
    if reasons:
        raise CapacityExceeded(
            "accepting this offer would overdraw a limit: " + ", ".join(reasons),
            extra={"reasons": reasons},
        )
    assert lender is not None
    lender.used_cny += offer.amount_cny
    lender.updated_at = now
    session.add(lender)
    if guarantor is not None:
        guarantor.used_cny += offer.guaranteed_cny
        guarantor.updated_at = now
        session.add(guarantor)
    reservation = CapacityReservation(
        offer_id=offer.id,
        platform_org_id=application.platform_org_id,
        firm_ref=application.firm_ref,
        lender_org_id=offer.lender_org_id,
        guarantor_org_id=offer.guarantor_org_id,
        lender_cny=offer.amount_cny,
        guarantee_cny=offer.guaranteed_cny,
        status="reserved",
        expires_at=now + timedelta(hours=ttl_hours),
        created_at=now,
        updated_at=now,
    )
    session.add(reservation)
    return reservation


def convert(session: Session, reservation: CapacityReservation, now: datetime) -> None:
    """The loan was disbursed: the reservation becomes outstanding exposure, with no expiry."""
    reservation.status = "outstanding"
    reservation.expires_at = None
    reservation.updated_at = now
    session.add(reservation)


def reduce(
    session: Session,
    reservation: CapacityReservation,
    principal_repaid: Decimal,
    lender: LenderProfile,
    guarantor: GuarantorProfile | None,
    now: datetime,
) -> None:
    """Principal was repaid: free that much budget and the guarantee liability it carried."""
    lent = min(principal_repaid, reservation.lender_cny)
    guaranteed = Decimal(0)
    if reservation.lender_cny > 0:
        guaranteed = min(
            (reservation.guarantee_cny * lent / reservation.lender_cny).quantize(CENT),
            reservation.guarantee_cny,
        )
    reservation.lender_cny -= lent
    reservation.guarantee_cny -= guaranteed
    reservation.updated_at = now
    lender.used_cny -= lent
    session.add_all([reservation, lender])
    if guarantor is not None:
        guarantor.used_cny -= guaranteed
        session.add(guarantor)


def release(
    session: Session,
    reservation: CapacityReservation,
    lender: LenderProfile | None,
    guarantor: GuarantorProfile | None,
    now: datetime,
) -> None:
    """Give back everything the reservation still holds (decline, expiry, repaid, default)."""
    if reservation.status == "released":
        return
    if lender is not None:
        lender.used_cny -= reservation.lender_cny
        lender.updated_at = now
        session.add(lender)
    if guarantor is not None:
        guarantor.used_cny -= reservation.guarantee_cny
        guarantor.updated_at = now
        session.add(guarantor)
    reservation.status = "released"
    reservation.expires_at = None
    reservation.updated_at = now
    session.add(reservation)
