"""Tell credit which lenders and guarantors are exposed to a firm, so it can warn them early.

A firm is monitored for an org while one of the org's referrals of that firm is approved or
disbursed. After every decision and loan event the full set for that firm is sent (a replace,
so a repeat or a late call heals rather than drifts). Best effort: a failure is logged and the
next event of that firm sends the whole set again.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.matching.credit_client import CreditClient
from services.matching.models import Referral
from shared.errors import ServiceUnavailable

log = logging.getLogger("smefin.matching.monitoring")
LIVE = ("approved", "disbursed")


def exposed_orgs(session: Session, platform_org_id: str, firm_ref: str) -> list[str]:
    """Lenders and guarantors with a live loan or guarantee of this firm, sorted."""
    rows = session.execute(
        select(col(Referral.lender_org_id), col(Referral.guarantor_org_id)).where(
            col(Referral.platform_org_id) == platform_org_id,
            col(Referral.firm_ref) == firm_ref,
            col(Referral.status).in_(LIVE),
        )
    ).all()
    return sorted({org for pair in rows for org in pair if org})


def sync_firm(engine: Engine, credit: CreditClient, platform_org_id: str, firm_ref: str) -> None:
    """Send credit the current exposed set of one firm; never raises."""
    with Session(engine) as session:
        orgs = exposed_orgs(session, platform_org_id, firm_ref)
    try:
        credit.put_monitored(platform_org_id, firm_ref, orgs)
    except ServiceUnavailable as exc:
        log.warning("monitored set of %s/%s not sent: %s", platform_org_id, firm_ref, exc)
