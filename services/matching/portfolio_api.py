"""Back-office read routes: the caller's portfolio and the offer terms behind a referral."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.matching import portfolio
from services.matching.deps import EngineDep, PartyDep
from services.matching.schemas_deals import OfferPublic

router = APIRouter(prefix="/v1")


@router.get("/portfolio", tags=["referrals"])
def get_portfolio(principal: PartyDep, engine: EngineDep) -> dict[str, Any]:
    """The caller's limits, capacity in use and open exposure per firm against each limit."""
    return portfolio.portfolio(engine, principal)


@router.get("/referrals/{referral_id}/offer", response_model=OfferPublic, tags=["referrals"])
def get_referral_offer(referral_id: str, principal: PartyDep, engine: EngineDep) -> OfferPublic:
    """The price, amounts and risk-sharing split of the offer a referral came from."""
    return portfolio.referral_offer(engine, principal, referral_id)
