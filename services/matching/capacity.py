"""Capacity rules as plain functions: what a lender or guarantor may still take on.

Used by the offer loop (to say why a product is not offered), by the ledger (to refuse an
acceptance that would overdraw a limit) and by batch allocation (remaining capacities).
Amounts are Decimal CNY; limits expressed as fractions of net assets are turned into CNY here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.matching.models import GuarantorProfile, LenderProfile

# Reason codes (public API: never rename one, only add).
NO_LENDER_PROFILE = "no_lender_profile"
LENDER_BUDGET_EXHAUSTED = "lender_budget_exhausted"
SINGLE_BORROWER_LIMIT = "single_borrower_limit"
RELATED_GROUP_LIMIT = "related_group_limit"
NO_GUARANTOR_PROFILE = "no_guarantor_profile"
GUARANTOR_LEVERAGE_CAP = "guarantor_leverage_cap"
GUARANTOR_SINGLE_CLIENT_LIMIT = "guarantor_single_client_limit"
GUARANTOR_RELATED_GROUP_LIMIT = "guarantor_related_group_limit"


@dataclass(frozen=True)
class LenderLimits:
    """A lender's limits in CNY: total budget, and per borrower / per related group (None: none)."""

    org_id: str
    budget_cny: Decimal
    used_cny: Decimal
    single_borrower_cny: Decimal | None
    related_group_cny: Decimal | None

    @property
    def remaining_cny(self) -> Decimal:
        """Budget not yet reserved or lent."""
        return self.budget_cny - self.used_cny


@dataclass(frozen=True)
class GuarantorLimits:
    """A guarantor's limits in CNY: leverage cap on outstanding liability, per client and group."""

    org_id: str
    leverage_cap_cny: Decimal
    used_cny: Decimal
    single_client_cny: Decimal
    related_group_cny: Decimal

    @property
    def remaining_cny(self) -> Decimal:
        """Liability the guarantor may still take on under its leverage multiple."""
        return self.leverage_cap_cny - self.used_cny


@dataclass(frozen=True)
class Exposure:
    """What a holder already has with one firm and with the firm's related group (CNY)."""

    firm_cny: Decimal = Decimal(0)
    group_cny: Decimal = Decimal(0)
    in_group: bool = False


def lender_limits(profile: LenderProfile) -> LenderLimits:
    """A lender's limits from its profile (concentration as a fraction of net assets)."""
    net = profile.net_assets_cny
    return LenderLimits(
        org_id=profile.org_id,
        budget_cny=profile.lending_budget_cny,
        used_cny=profile.used_cny,
        single_borrower_cny=(
            net * profile.single_borrower_limit
            if profile.single_borrower_limit is not None
            else None
        ),
        related_group_cny=(
            net * profile.related_group_limit if profile.related_group_limit is not None else None
        ),
    )


def guarantor_limits(profile: GuarantorProfile) -> GuarantorLimits:
    """A guarantor's limits from its profile: leverage x net assets, client and group shares."""
    net = profile.net_assets_cny
    return GuarantorLimits(
        org_id=profile.org_id,
        leverage_cap_cny=net * profile.leverage_multiple,
        used_cny=profile.used_cny,
        single_client_cny=net * profile.single_client_limit,
        related_group_cny=net * profile.related_group_limit,
    )


def lender_shortfalls(limits: LenderLimits, exposure: Exposure, amount: Decimal) -> list[str]:
    """Every lender limit that lending `amount` more to this firm would break."""
    reasons = []
    if limits.used_cny + amount > limits.budget_cny:
        reasons.append(LENDER_BUDGET_EXHAUSTED)
    if (
        limits.single_borrower_cny is not None
        and exposure.firm_cny + amount > limits.single_borrower_cny
    ):
        reasons.append(SINGLE_BORROWER_LIMIT)
    if (
        exposure.in_group
        and limits.related_group_cny is not None
        and exposure.group_cny + amount > limits.related_group_cny
    ):
        reasons.append(RELATED_GROUP_LIMIT)
    return reasons


def guarantor_shortfalls(
    limits: GuarantorLimits, exposure: Exposure, liability: Decimal
) -> list[str]:
    """Every guarantor limit that guaranteeing `liability` more for this firm would break."""
    reasons = []
    if limits.used_cny + liability > limits.leverage_cap_cny:
        reasons.append(GUARANTOR_LEVERAGE_CAP)
    if exposure.firm_cny + liability > limits.single_client_cny:
        reasons.append(GUARANTOR_SINGLE_CLIENT_LIMIT)
    if exposure.in_group and exposure.group_cny + liability > limits.related_group_cny:
        reasons.append(GUARANTOR_RELATED_GROUP_LIMIT)
    return reasons


def lender_room_for_firm(limits: LenderLimits, exposure: Exposure) -> Decimal:
    """The most this lender may still lend to this firm (budget, borrower and group limits)."""
    room = limits.remaining_cny
    if limits.single_borrower_cny is not None:
        room = min(room, limits.single_borrower_cny - exposure.firm_cny)
    if exposure.in_group and limits.related_group_cny is not None:
        room = min(room, limits.related_group_cny - exposure.group_cny)
    return max(room, Decimal(0))


def guarantor_room_for_firm(limits: GuarantorLimits, exposure: Exposure) -> Decimal:
    """The most liability this guarantor may still take on for this firm."""
    room = min(limits.remaining_cny, limits.single_client_cny - exposure.firm_cny)
    if exposure.in_group:
        room = min(room, limits.related_group_cny - exposure.group_cny)
    return max(room, Decimal(0))
