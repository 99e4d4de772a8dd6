"""Early-warning rules: pure functions of a firm's recent monthly figures and an org's thresholds.

Every rule returns its evidence (the numbers that triggered it) or None. Figures are in minor
units of the firm's main currency; `months` is oldest first and ends with the latest complete
month: the month in progress would look like a drop on every 1st of the month, so only the
no-sales rule (which counts days up to today) sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

# The defaults an org gets for every rule it did not set.
DEFAULT_RULES: dict[str, dict[str, float]] = {
    "sales_drop": {"drop_fraction": 0.30},
    "refund_rate_jump": {"factor": 2.0, "min_rate": 0.005},
    "no_sales": {"days": 30},
    "chargeback_spike": {"factor": 3.0, "min_count": 3},
}
RULE_CODES = tuple(DEFAULT_RULES)


@dataclass(frozen=True)
class MonthFigures:
    """One month of a firm's activity in its main currency."""

    month: str
    sales_minor: int
    refund_minor: int
    chargeback_count: int
    last_sale_day: date | None


def merged_rules(custom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An org's thresholds over the defaults; a rule set to {"enabled": false} is off."""
    out: dict[str, dict[str, Any]] = {}
    for code, defaults in DEFAULT_RULES.items():
        mine = custom.get(code) or {}
        out[code] = {**defaults, **mine}
    return out


def _window(months: list[MonthFigures], start: int, end: int) -> list[MonthFigures]:
    return months[max(len(months) - end, 0) : len(months) - start]


def sales_drop(months: list[MonthFigures], cfg: dict[str, Any]) -> dict[str, Any] | None:
    """Trailing 3-month net sales down more than drop_fraction against the 3 months before."""
    if len(months) < 6:
        return None
    cur = sum(m.sales_minor - m.refund_minor for m in _window(months, 0, 3))
    prev = sum(m.sales_minor - m.refund_minor for m in _window(months, 3, 6))
    if prev <= 0:
        return None
    drop = (prev - cur) / prev
    if drop <= float(cfg["drop_fraction"]):
        return None
    return {
        "net_sales_last_3m_minor": cur,
        "net_sales_prior_3m_minor": prev,
        "drop_fraction": round(drop, 4),
        "threshold": cfg["drop_fraction"],
    }


def refund_rate_jump(months: list[MonthFigures], cfg: dict[str, Any]) -> dict[str, Any] | None:
    """Refund rate of the last 3 months at least `factor` times that of the 3 months before."""
    if len(months) < 6:
        return None
    cur_m, prev_m = _window(months, 0, 3), _window(months, 3, 6)
    cur_sales, prev_sales = sum(m.sales_minor for m in cur_m), sum(m.sales_minor for m in prev_m)
    if cur_sales <= 0 or prev_sales <= 0:
        return None
    cur = sum(m.refund_minor for m in cur_m) / cur_sales
    prev = sum(m.refund_minor for m in prev_m) / prev_sales
    # A floor so that 0.1% -> 0.2% does not ring: the prior rate must be meaningful.
    base = max(prev, float(cfg["min_rate"]))
    if cur < float(cfg["factor"]) * base:
        return None
    return {
        "refund_rate_last_3m": round(cur, 4),
        "refund_rate_prior_3m": round(prev, 4),
        "factor": cfg["factor"],
    }


def no_sales(months: list[MonthFigures], cfg: dict[str, Any], today: date) -> dict[str, Any] | None:
    """No sale for at least `days` days up to today."""
    days = [m.last_sale_day for m in months if m.last_sale_day is not None]
    if not days:
        return None
    last = max(days)
    idle = (today - last).days
    if idle < int(cfg["days"]):
        return None
    return {"last_sale_on": last.isoformat(), "days_without_sales": idle, "threshold": cfg["days"]}


def chargeback_spike(months: list[MonthFigures], cfg: dict[str, Any]) -> dict[str, Any] | None:
    """Chargebacks of the latest month at least `factor` times the mean of the 3 before."""
    if not months:
        return None
    latest = months[-1].chargeback_count
    prior = _window(months, 1, 4)
    mean = sum(m.chargeback_count for m in prior) / len(prior) if prior else 0.0
    if latest < int(cfg["min_count"]) or latest < float(cfg["factor"]) * max(mean, 1.0):
        return None
    return {
        "chargebacks_latest_month": latest,
        "chargebacks_prior_3m_mean": round(mean, 2),
        "factor": cfg["factor"],
    }


def evaluate(
    months: list[MonthFigures],
    rules: dict[str, dict[str, Any]],
    today: date,
    current: MonthFigures | None = None,
) -> dict[str, dict[str, Any]]:
    """Every enabled rule that fires, with its evidence (current: the month in progress)."""
    hits: dict[str, dict[str, Any] | None] = {}
    if rules["sales_drop"].get("enabled", True):
        hits["sales_drop"] = sales_drop(months, rules["sales_drop"])
    if rules["refund_rate_jump"].get("enabled", True):
        hits["refund_rate_jump"] = refund_rate_jump(months, rules["refund_rate_jump"])
    if rules["no_sales"].get("enabled", True):
        hits["no_sales"] = no_sales(
            [*months, current] if current else months, rules["no_sales"], today
        )
    if rules["chargeback_spike"].get("enabled", True):
        hits["chargeback_spike"] = chargeback_spike(months, rules["chargeback_spike"])
    return {code: ev for code, ev in hits.items() if ev is not None}
