"""Reason codes: a stable code and plain sentences (English, Chinese) per adverse factor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    """One adverse-factor explanation."""

    code: str
    en: str
    zh: str


# Keyed by feature: the reason shown when that feature lowers the score.
REASONS: dict[str, Reason] = {
    "months_active": Reason("R01_SHORT_HISTORY", "Short sales history", "经营销售历史较短"),
    "log_sales_12m": Reason(
        "R02_LOW_SALES", "Low sales over the last 12 months", "近12个月销售额较低"
    ),
    "sales_growth_3m": Reason(
        "R03_RECENT_DECLINE", "Sales fell over the last 3 months", "近3个月销售额下降"
    ),
    "sales_growth_12m": Reason(
        "R04_HALF_YEAR_DECLINE", "Sales fell over the last 6 months", "近6个月销售额下降"
    ),
    "sales_volatility_12m": Reason(
        "R05_VOLATILE_SALES", "Monthly sales vary a lot", "月度销售额波动较大"
    ),
    "refund_rate_6m": Reason("R06_HIGH_REFUNDS", "High share of sales refunded", "退款比例较高"),
    "chargeback_rate_6m": Reason(
        "R07_CHARGEBACKS", "Payment disputes (chargebacks) are frequent", "拒付争议较多"
    ),
    "zero_sales_months_6m": Reason(
        "R08_INACTIVE_MONTHS", "Months without any sales recently", "近期有无销售的月份"
    ),
    "active_days_3m": Reason(
        "R09_FEW_SELLING_DAYS", "Few selling days per month", "每月有销售的天数较少"
    ),
    "top_buyer_share_6m": Reason(
        "R10_BUYER_CONCENTRATION", "Sales depend heavily on one buyer", "销售额过度依赖单一买家"
    ),
    "repeat_buyer_rate_6m": Reason(
        "R11_FEW_REPEAT_BUYERS", "Few buyers come back to buy again", "回头客比例较低"
    ),
    "buyers_growth_3m": Reason(
        "R12_FEWER_BUYERS", "Number of buyers fell over the last 3 months", "近3个月买家数量下降"
    ),
}


def reason_for(feature: str) -> Reason:
    """The catalogued reason of a feature; a generic one for a lender's own model inputs."""
    known = REASONS.get(feature)
    if known is not None:
        return known
    return Reason(
        f"R99_{feature.upper()[:40]}",
        f"The value of {feature} lowers the score",
        f"{feature} 的取值拉低了评分",
    )
