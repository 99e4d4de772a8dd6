"""Point-in-time features of a firm, computed only from monthly metrics of complete past months."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

WINDOW_MONTHS = 24


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One month of a firm in one currency, amounts in major units (what features need)."""

    month: str
    currency: str
    sales: float
    sales_count: int
    refunds: float
    chargebacks: float
    chargeback_count: int
    distinct_buyers: int
    repeat_buyers: int
    top_buyer_sales: float
    active_days: int


# name -> (unit, meaning): the documented feature list every model draws from.
FEATURES: dict[str, tuple[str, str]] = {
    "months_active": ("months", "months since the first month with sales, capped at 24"),
    "log_sales_12m": ("log CNY", "natural log of 1 + net sales over the last 12 months"),
    "sales_growth_3m": ("ratio", "net sales of the last 3 months over the 3 before, minus 1"),
    "sales_growth_12m": ("ratio", "net sales of the last 6 months over the 6 before, minus 1"),
    "sales_volatility_12m": ("ratio", "coefficient of variation of monthly net sales, 12 months"),
    "refund_rate_6m": ("ratio", "refunds over sales, last 6 months"),
    "chargeback_rate_6m": ("ratio", "chargebacks over sales, last 6 months"),
    "zero_sales_months_6m": ("months", "months without sales among the last 6"),
    "active_days_3m": ("days", "average days with a sale per month, last 3 months"),
    "top_buyer_share_6m": ("ratio", "largest single-buyer share of a month's sales, max over 6"),
    "repeat_buyer_rate_6m": ("ratio", "buyers with 2+ orders in a month over distinct buyers"),
    "buyers_growth_3m": (
        "ratio",
        "distinct buyers of the last 3 months over the 3 before, minus 1",
    ),
}
FEATURE_NAMES = list(FEATURES)


def month_key(d: date) -> str:
    """'YYYY-MM' of a date."""
    return f"{d.year:04d}-{d.month:02d}"


def months_back(end_exclusive: str, count: int) -> list[str]:
    """The `count` month keys before `end_exclusive`, oldest first."""
    year, month = int(end_exclusive[:4]), int(end_exclusive[5:7])
    keys = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        keys.append(f"{year:04d}-{month:02d}")
    return keys[::-1]


def primary_currency(rows: Sequence[MonthFigures]) -> str | None:
    """The currency with the most sales: scores read one currency, never a mix."""
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        totals[r.currency] += r.sales
    return max(totals, key=lambda c: totals[c]) if totals else None


def _ratio(num: float, den: float, default: float = 0.0) -> float:
    return num / den if den > 0 else default


def compute_features(rows: Sequence[MonthFigures], as_of_month: str) -> dict[str, float]:
    """Features as of the start of `as_of_month`: rows of that month or later are ignored."""
    currency = primary_currency([r for r in rows if r.month < as_of_month])
    window = months_back(as_of_month, WINDOW_MONTHS)
    by_month = {r.month: r for r in rows if r.currency == currency and r.month < as_of_month}
    series = [by_month.get(m) for m in window]
    sales = np.array([r.sales if r else 0.0 for r in series])
    refunds = np.array([r.refunds if r else 0.0 for r in series])
    chargebacks = np.array([r.chargebacks if r else 0.0 for r in series])
    net = np.maximum(sales - refunds - chargebacks, 0.0)
    buyers = np.array([r.distinct_buyers if r else 0 for r in series], dtype=float)
    repeat = np.array([r.repeat_buyers if r else 0 for r in series], dtype=float)
    active = np.array([r.active_days if r else 0 for r in series], dtype=float)
    top_share = np.array([_ratio(r.top_buyer_sales, r.sales) if r else 0.0 for r in series])

    selling = np.nonzero(sales > 0)[0]
    months_active = float(WINDOW_MONTHS - selling[0]) if selling.size else 0.0
    last12 = net[-12:]
    mean12 = float(last12.mean())
    return {
        "months_active": months_active,
        "log_sales_12m": float(np.log1p(last12.sum())),
        "sales_growth_3m": float(np.clip(_ratio(net[-3:].sum(), net[-6:-3].sum(), 0.0) - 1, -1, 5))
        if net[-6:-3].sum() > 0
        else 0.0,
        "sales_growth_12m": float(
            np.clip(_ratio(net[-6:].sum(), net[-12:-6].sum(), 0.0) - 1, -1, 5)
        )
        if net[-12:-6].sum() > 0
        else 0.0,
        "sales_volatility_12m": float(min(last12.std() / mean12, 5.0)) if mean12 > 0 else 5.0,
        "refund_rate_6m": float(min(_ratio(refunds[-6:].sum(), sales[-6:].sum()), 1.0)),
        "chargeback_rate_6m": float(min(_ratio(chargebacks[-6:].sum(), sales[-6:].sum()), 1.0)),
        "zero_sales_months_6m": float((sales[-6:] <= 0).sum()),
        "active_days_3m": float(active[-3:].mean()),
        "top_buyer_share_6m": float(top_share[-6:].max()),
        "repeat_buyer_rate_6m": float(_ratio(repeat[-6:].sum(), buyers[-6:].sum())),
        "buyers_growth_3m": float(
            np.clip(_ratio(buyers[-3:].sum(), buyers[-6:-3].sum(), 0.0) - 1, -1, 5)
        )
        if buyers[-6:-3].sum() > 0
        else 0.0,
    }
