"""Eligibility of a firm's application for a loan product: every failed rule, as a stable code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.matching.models import LoanProduct

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
LENDER_BUDGET_EXHAUSTED = "lender_budget_exhausted"
SINGLE_BORROWER_LIMIT = "single_borrower_limit"


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


def product_reasons(product: LoanProduct, firm: FirmFacts, now: datetime) -> list[str]:
    """Every rule of the product this application fails (empty: eligible without guarantee)."""
    reasons = []
    if product.status != "active" or (
        (product.active_from and now < product.active_from)
        or (product.active_to and now >= product.active_to)
    ):
        reasons.append(PRODUCT_INACTIVE)
    if not product.min_amount_cny <= firm.amount <= product.max_amount_cny:
        reasons.append(AMOUNT_OUT_OF_RANGE)
    if not product.min_term_months <= firm.term_months <= product.max_term_months:
        reasons.append(TERM_OUT_OF_RANGE)
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
    if product.requires_guarantee:
        reasons.append(GUARANTEE_REQUIRED)
    if Decimal(str(firm.pd_12m)) > product.max_pd:
        reasons.append(PD_ABOVE_APPETITE)
    return reasons
