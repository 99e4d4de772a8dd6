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


def _safe_div(num: np.ndarray, den: np.ndarray, default: float = 0.0) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, default, dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _growth(recent: np.ndarray, before: np.ndarray) -> np.ndarray:
    # No base to grow from means no measurable growth: neutral 0, not infinity.
    return np.where(before > 0, np.clip(_safe_div(recent, before) - 1, -1, 5), 0.0)


@dataclass(frozen=True, slots=True)
class MonthPanel:
    """Monthly figures of many firms over the feature window: arrays of shape (firms, 24)."""

    sales: np.ndarray
    refunds: np.ndarray
    chargebacks: np.ndarray
    distinct_buyers: np.ndarray
    repeat_buyers: np.ndarray
    top_buyer_sales: np.ndarray
    active_days: np.ndarray

    @classmethod
    def zeros(cls, n_firms: int) -> MonthPanel:
        """An empty panel to fill month by month."""
        return cls(*(np.zeros((n_firms, WINDOW_MONTHS)) for _ in range(7)))


def feature_matrix(panel: MonthPanel) -> np.ndarray:
    """Features of every firm of a panel, shape (firms, len(FEATURE_NAMES)), in FEATURES order."""
    sales, refunds, chargebacks = panel.sales, panel.refunds, panel.chargebacks
    net = np.maximum(sales - refunds - chargebacks, 0.0)
    buyers = panel.distinct_buyers
    selling = sales > 0
    first = np.where(selling.any(axis=1), selling.argmax(axis=1), WINDOW_MONTHS)
    last12 = net[:, -12:]
    mean12 = last12.mean(axis=1)
    top_share = _safe_div(panel.top_buyer_sales, sales)
    cols = {
        "months_active": (WINDOW_MONTHS - first).astype(float),
        "log_sales_12m": np.log1p(last12.sum(axis=1)),
        "sales_growth_3m": _growth(net[:, -3:].sum(axis=1), net[:, -6:-3].sum(axis=1)),
        "sales_growth_12m": _growth(net[:, -6:].sum(axis=1), net[:, -12:-6].sum(axis=1)),
        "sales_volatility_12m": np.where(
            mean12 > 0, np.minimum(_safe_div(last12.std(axis=1), mean12), 5.0), 5.0
        ),
        "refund_rate_6m": np.minimum(
            _safe_div(refunds[:, -6:].sum(axis=1), sales[:, -6:].sum(axis=1)), 1.0
        ),
        "chargeback_rate_6m": np.minimum(
            _safe_div(chargebacks[:, -6:].sum(axis=1), sales[:, -6:].sum(axis=1)), 1.0
        ),
        "zero_sales_months_6m": (sales[:, -6:] <= 0).sum(axis=1).astype(float),
        "active_days_3m": panel.active_days[:, -3:].mean(axis=1),
        "top_buyer_share_6m": top_share[:, -6:].max(axis=1),
        "repeat_buyer_rate_6m": _safe_div(
            panel.repeat_buyers[:, -6:].sum(axis=1), buyers[:, -6:].sum(axis=1)
        ),
        "buyers_growth_3m": _growth(buyers[:, -3:].sum(axis=1), buyers[:, -6:-3].sum(axis=1)),
    }
    return np.column_stack([cols[name] for name in FEATURE_NAMES])


def compute_features(rows: Sequence[MonthFigures], as_of_month: str) -> dict[str, float]:
    """Features as of the start of `as_of_month`: rows of that month or later are ignored."""
    window = {m: i for i, m in enumerate(months_back(as_of_month, WINDOW_MONTHS))}
    # The currency is chosen inside the window, as batch scoring does from the same rows.
    currency = primary_currency([r for r in rows if r.month in window])
    panel = MonthPanel.zeros(1)
    for r in rows:
        i = window.get(r.month)
        if i is None or r.currency != currency:
            continue
        panel.sales[0, i] = r.sales
        panel.refunds[0, i] = r.refunds
        panel.chargebacks[0, i] = r.chargebacks
        panel.distinct_buyers[0, i] = r.distinct_buyers
        panel.repeat_buyers[0, i] = r.repeat_buyers
        panel.top_buyer_sales[0, i] = r.top_buyer_sales
        panel.active_days[0, i] = r.active_days
    row = feature_matrix(panel)[0]
    return {name: float(v) for name, v in zip(FEATURE_NAMES, row, strict=True)}


def features_as_of(rows: Sequence[MonthFigures], as_of: date) -> dict[str, float]:
    """Features as a lender would have seen them on `as_of`: only months complete before it."""
    return compute_features(rows, month_key(as_of))
