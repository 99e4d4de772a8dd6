"""A lender's or guarantor's portfolio: open exposure per firm against every limit it has.

Read-only views for the back-office console: the limits come from the profile (capacity.py),
the exposure from open reservations (reserved or outstanding), per firm and per related group.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.matching import capacity as cap
from services.matching import repository, repository_deals
from services.matching.models import CapacityReservation, Offer
from services.matching.referrals import visible_referral
from services.matching.schemas_deals import OfferPublic
from shared.errors import NotFound
from shared.internal_auth import Principal

OPEN = ("reserved", "outstanding")


def _share(used: Decimal, limit: Decimal | None) -> float | None:
    return None if not limit else float(used / limit)


def portfolio(engine: Engine, principal: Principal) -> dict[str, Any]:
    """Limits, capacity in use, and open exposure of every firm with its limit usage."""
    is_guarantor = principal.kind == "guarantor"
    with Session(engine) as session:
        if is_guarantor:
            g = repository.get_guarantor(session, principal.org_id)
            if g is None:
                raise NotFound("no profile yet: PUT /v1/profile first")
            gl = cap.guarantor_limits(g)
            total, used = gl.leverage_cap_cny, gl.used_cny
            single: Decimal | None = gl.single_client_cny
            group: Decimal | None = gl.related_group_cny
            holder = col(CapacityReservation.guarantor_org_id)
        else:
            lp = repository.get_lender(session, principal.org_id)
            if lp is None:
                raise NotFound("no profile yet: PUT /v1/profile first")
            ll = cap.lender_limits(lp)
            total, used = ll.budget_cny, ll.used_cny
            single, group = ll.single_borrower_cny, ll.related_group_cny
            holder = col(CapacityReservation.lender_org_id)
        firms = session.execute(
            select(col(CapacityReservation.platform_org_id), col(CapacityReservation.firm_ref))
            .where(holder == principal.org_id, col(CapacityReservation.status).in_(OPEN))
            .distinct()
        ).all()
        rows = []
        for platform_org_id, firm_ref in sorted(firms):
            lender_exp, guarantor_exp, in_group = repository_deals.exposures(
                session, platform_org_id, firm_ref
            )
            exp = (guarantor_exp if is_guarantor else lender_exp).get(principal.org_id)
            firm_cny = exp.firm_cny if exp else Decimal(0)
            group_cny = exp.group_cny if exp else Decimal(0)
            rows.append(
                {
                    "platform_org_id": platform_org_id,
                    "firm_ref": firm_ref,
                    "exposure_cny": str(firm_cny),
                    "single_limit_cny": str(single) if single is not None else None,
                    "single_limit_used": _share(firm_cny, single),
                    "in_group": in_group,
                    "group_exposure_cny": str(group_cny) if in_group else None,
                    "group_limit_used": _share(group_cny, group) if in_group else None,
                }
            )
    return {
        "org_id": principal.org_id,
        "kind": "guarantor" if is_guarantor else "lender",
        "limit_cny": str(total),
        "used_cny": str(used),
        "limit_used": _share(used, total),
        "single_limit_cny": str(single) if single is not None else None,
        "group_limit_cny": str(group) if group is not None else None,
        "firms": rows,
    }


def referral_offer(engine: Engine, principal: Principal, referral_id: str) -> OfferPublic:
    """The terms of the offer behind a referral: price, amounts and the risk-sharing split."""
    with Session(engine) as session:
        referral = visible_referral(session, principal, referral_id)
        offer = session.get(Offer, referral.offer_id)
        if offer is None:
            raise NotFound(f"offer of referral {referral_id!r} not found")
        return OfferPublic.model_validate(offer, from_attributes=True)
