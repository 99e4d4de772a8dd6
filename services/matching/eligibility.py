"""Eligibility of an application for loan and guarantee products: every failed rule, as a code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from services.matching.models import GuaranteeProduct, LoanProduct

# Reason codes are part of the public API: never rename one, only add.
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
TERM_OUT_OF_RANGE = "term_out_of_range"
PD_ABOVE_APPETITE = "pd_above_appetite"
INDUSTRY_NOT_SERVED = "industry_not_served"
REGION_NOT_SERVED = "region_not_served"
SIZE_NOT_SERVED = "size_class_not_served"
HISTORY_TOO_SHORT = "history_too_short"
SALES_TOO_LOW = "sales_too_low"
GUARANTEE_REQUIRED = "guarantee_required"
PRODUCT_INACTIVE = "product_inactive"
# A loan product paired with a guarantee product.
GUARANTEE_NOT_ACCEPTED = "guarantee_not_accepted"
PD_ABOVE_GUARANTEED_APPETITE = "pd_above_guaranteed_appetite"
NO_AGREEMENT = "no_risk_sharing_agreement"
COVERAGE_BELOW_AGREEMENT = "coverage_below_agreement"
# The guarantee product's own rules carry a "guarantee_" prefix.
GUARANTEE_PREFIX = "guarantee_"
ABOVE_PER_FIRM_MAX = "guarantee_above_per_firm_max"
OUTRANKED = "outranked"


@dataclass(frozen=True)
class FirmFacts:
    """What eligibility reads about a firm and its request."""

    amount: Decimal
    term_months: int
    pd_12m: float
    industry: str
    region_code: str
    size_class: str
    months_of_history: int
    sales_12m: Decimal


class _Eligibility(Protocol):
    status: str
    active_from: datetime | None
    active_to: datetime | None
    industries: list[str]
    region_prefixes: list[str]
    size_classes: list[str]
    min_history_months: int
    min_sales_12m_cny: Decimal


def _common_reasons(product: _Eligibility, firm: FirmFacts, now: datetime) -> list[str]:
    reasons = []
    if product.status != "active" or (
        (product.active_from and now < product.active_from)
        or (product.active_to and now >= product.active_to)
    ):
        reasons.append(PRODUCT_INACTIVE)
    if product.industries and firm.industry not in product.industries:
        reasons.append(INDUSTRY_NOT_SERVED)
    if product.region_prefixes and not any(
        firm.region_code.startswith(p) for p in product.region_prefixes
    ):
        reasons.append(REGION_NOT_SERVED)
    if product.size_classes and firm.size_class not in product.size_classes:
        reasons.append(SIZE_NOT_SERVED)
    if firm.months_of_history < product.min_history_months:
        reasons.append(HISTORY_TOO_SHORT)
    if firm.sales_12m < product.min_sales_12m_cny:
        reasons.append(SALES_TOO_LOW)
    return reasons


def loan_base_reasons(product: LoanProduct, firm: FirmFacts, now: datetime) -> list[str]:
    """The loan product's rules that hold with or without a guarantee (window, ranges, who)."""
    reasons = _common_reasons(product, firm, now)
    if not product.min_amount_cny <= firm.amount <= product.max_amount_cny:
        reasons.append(AMOUNT_OUT_OF_RANGE)
    if not product.min_term_months <= firm.term_months <= product.max_term_months:
        reasons.append(TERM_OUT_OF_RANGE)
    return reasons


def standalone_reasons(product: LoanProduct, firm: FirmFacts) -> list[str]:
    """The extra rules of taking the loan product without a guarantee."""
    reasons = []
    if product.requires_guarantee:
        reasons.append(GUARANTEE_REQUIRED)
    if firm.pd_12m > float(product.max_pd):
        reasons.append(PD_ABOVE_APPETITE)
    return reasons


def guaranteed_reasons(product: LoanProduct, firm: FirmFacts) -> list[str]:
    """The extra rules of the loan product when a guarantee backs it."""
    if product.max_pd_guaranteed is None:
        return [GUARANTEE_NOT_ACCEPTED]
    if firm.pd_12m > float(product.max_pd_guaranteed):
        return [PD_ABOVE_GUARANTEED_APPETITE]
    return []


def guarantee_reasons(
    product: GuaranteeProduct, firm: FirmFacts, now: datetime, existing_cny: Decimal = Decimal(0)
) -> list[str]:
    """Every rule of the guarantee product this application fails, prefixed "guarantee_".

    existing_cny: what the guarantor already guarantees for this firm (counts toward the
    product's per-firm maximum).
    """
    reasons = [GUARANTEE_PREFIX + r for r in _common_reasons(product, firm, now)]
    if firm.pd_12m > float(product.max_pd):
        reasons.append(GUARANTEE_PREFIX + PD_ABOVE_APPETITE)
    if existing_cny + firm.amount * product.coverage_ratio > product.max_per_firm_cny:
        reasons.append(ABOVE_PER_FIRM_MAX)
    return reasons
