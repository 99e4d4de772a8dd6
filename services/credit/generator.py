"""Seeded generator of merchant histories with a latent health process and a 12-month default label.

Assumptions (docs/generator.md explains each and its public source) are the parameters of
GeneratorParams, never literals in the code below.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np

from services.credit.features import MonthFigures

SHANGHAI = timezone(timedelta(hours=8))
REGIONS = ["330106", "440305", "310115", "110105", "320505", "510107", "420106", "350203"]
INDUSTRIES = ["retail", "retail", "retail", "wholesale", "industry", "catering", "software_it"]
CATEGORIES = {
    "apparel": 0.25,
    "electronics": 0.10,
    "home": 0.08,
    "beauty": 0.08,
    "food": 0.04,
}


@dataclass(frozen=True)
class GeneratorParams:
    """Every assumption of the generator, with the public figure it stands on."""

    # Target 12-month default rate (2-8% for thin-file online merchants).
    target_default_rate: float = 0.05
    # Monthly sales of the median firm, CNY, and its spread (lognormal sigma).
    median_monthly_sales: float = 30_000.0
    sales_sigma: float = 0.8
    # Average order value, CNY (about CNY 86-480 across Chinese platforms).
    median_order_value: float = 150.0
    # Latent health: AR(1) with persistence and monthly noise; rare shocks.
    health_persistence: float = 0.9
    health_noise: float = 0.25
    shock_probability: float = 0.02
    shock_size: float = -1.2
    # Chargebacks as share of orders (0.5-0.6% average).
    chargeback_rate: float = 0.005
    # Month-of-year sales multipliers: Jan pre-Spring-Festival run-up, Feb holiday,
    # Jun "618", Oct-Nov Singles' Day festival.
    seasonality: tuple[float, ...] = (1.2, 0.6, 0.95, 0.95, 1.0, 1.3, 0.9, 0.9, 1.0, 1.15, 1.7, 1.1)
    max_orders_per_month: int = 3_000


@dataclass
class SimFirm:
    """One simulated merchant: profile, orders over the history, and its future default label."""

    index: int
    industry: str
    region_code: str
    category: str
    employees: int
    months: list[str]
    defaulted_12m: bool
    # Per order: month index, day of month, amount (CNY, 2 decimals), buyer index, flags.
    order_month: np.ndarray = field(repr=False)
    order_day: np.ndarray = field(repr=False)
    order_amount: np.ndarray = field(repr=False)
    order_buyer: np.ndarray = field(repr=False)
    refunded: np.ndarray = field(repr=False)
    charged_back: np.ndarray = field(repr=False)

    @property
    def firm_ref(self) -> str:
        """The reference a platform would use for this merchant."""
        return f"m{self.index:06d}"

    @property
    def annual_revenue_cny(self) -> Decimal:
        """Sales over the last 12 months, as the firm would declare it."""
        last12 = self.order_month >= len(self.months) - 12
        return Decimal(str(round(float(self.order_amount[last12].sum()), 2)))

    def month_figures(self) -> list[MonthFigures]:
        """The monthly metrics an ingest of this firm's transactions produces."""
        n_months = len(self.months)
        m = self.order_month
        sales = np.bincount(m, weights=self.order_amount, minlength=n_months)
        counts = np.bincount(m, minlength=n_months)
        refunds = np.bincount(m, weights=self.order_amount * self.refunded, minlength=n_months)
        cbs = np.bincount(m, weights=self.order_amount * self.charged_back, minlength=n_months)
        cb_count = np.bincount(m, weights=self.charged_back, minlength=n_months)
        out = []
        pool = int(self.order_buyer.max()) + 1 if self.order_buyer.size else 1
        keys = m.astype(np.int64) * pool + self.order_buyer
        uniq, inverse, per_key_orders = np.unique(keys, return_inverse=True, return_counts=True)
        per_key_sales = np.bincount(inverse, weights=self.order_amount)
        key_month = uniq // pool
        for i, month in enumerate(self.months):
            if counts[i] == 0:
                continue
            sel = key_month == i
            days = np.unique(self.order_day[m == i])
            out.append(
                MonthFigures(
                    month=month,
                    currency="CNY",
                    sales=round(float(sales[i]), 2),
                    sales_count=int(counts[i]),
                    refunds=round(float(refunds[i]), 2),
                    chargebacks=round(float(cbs[i]), 2),
                    chargeback_count=int(cb_count[i]),
                    distinct_buyers=int(sel.sum()),
                    repeat_buyers=int((per_key_orders[sel] >= 2).sum()),
                    top_buyer_sales=round(float(per_key_sales[sel].max()), 2),
                    active_days=len(days),
                )
            )
        return out

    def transactions(self, firm_ref: str | None = None) -> Iterator[dict[str, str]]:
        """The firm's history as transaction rows, in time order, ready to upload."""
        ref = firm_ref or self.firm_ref
        rng = np.random.default_rng(self.index)
        order_secs = rng.integers(8 * 3600, 23 * 3600, size=self.order_month.size)
        for k in np.argsort(self.order_month * 40 + self.order_day, kind="stable"):
            month = self.months[int(self.order_month[k])]
            day = int(self.order_day[k])
            when = datetime(int(month[:4]), int(month[5:7]), day, tzinfo=SHANGHAI) + timedelta(
                seconds=int(order_secs[k])
            )
            amount = f"{self.order_amount[k]:.2f}"
            sale_id = f"{ref}-s{k}"
            base = {"currency": "CNY", "order_ref": f"{ref}-o{k}", "category": self.category}
            yield {
                **base,
                "firm_ref": ref,
                "txn_id": sale_id,
                "type": "sale",
                "occurred_at": when.isoformat(),
                "amount": amount,
                "buyer_ref": f"{ref}-b{int(self.order_buyer[k])}",
                "channel": "app",
            }
            # Refunds and chargebacks land a little later, inside the same month.
            later = when + timedelta(minutes=30)
            if self.refunded[k]:
                yield {
                    **base,
                    "firm_ref": ref,
                    "txn_id": f"{ref}-r{k}",
                    "type": "refund",
                    "occurred_at": later.isoformat(),
                    "amount": amount,
                    "refund_of": sale_id,
                }
            if self.charged_back[k]:
                yield {
                    **base,
                    "firm_ref": ref,
                    "txn_id": f"{ref}-c{k}",
                    "type": "chargeback",
                    "occurred_at": later.isoformat(),
                    "amount": amount,
                }


def month_keys(end_exclusive: str, count: int) -> list[str]:
    """The `count` month keys before `end_exclusive` ('YYYY-MM'), oldest first."""
    year, month = int(end_exclusive[:4]), int(end_exclusive[5:7])
    keys = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        keys.append(f"{year:04d}-{month:02d}")
    return keys[::-1]


def default_end_month() -> str:
    """The current month: histories end with the last complete month."""
    now = datetime.now(UTC).astimezone(SHANGHAI)
    return f"{now.year:04d}-{now.month:02d}"


# Intercept of the monthly default hazard, tuned so that the default 12-month rate is about 5%.
_HAZARD_SLOPE = 1.6


def _hazard_intercept(target: float) -> float:
    # Solved offline for the default parameters: mean of 1-(1-sigmoid(a+b*h))^12 hits target.
    return float(np.log(target / 12.0 / (1 - target / 12.0))) - 2.0


def simulate(
    n_firms: int,
    seed: int = 7,
    months: int = 24,
    end_month: str | None = None,
    params: GeneratorParams | None = None,
) -> Iterator[SimFirm]:
    """Simulate `n_firms` merchants over `months` months ending before `end_month`."""
    p = params or GeneratorParams()
    rng = np.random.default_rng(seed)
    month_list = month_keys(end_month or default_end_month(), months)
    season = np.array([p.seasonality[int(m[5:7]) - 1] for m in month_list])
    intercept = _hazard_intercept(p.target_default_rate)
    categories = list(CATEGORIES)
    for i in range(n_firms):
        level = p.median_monthly_sales * np.exp(rng.normal(0, p.sales_sigma))
        trend = rng.normal(0.01, 0.02)
        quality = rng.normal(0, 1)
        # Latent health over history + 12 future months.
        health = np.empty(months + 12)
        h = quality
        for t in range(months + 12):
            h = p.health_persistence * h + (1 - p.health_persistence) * quality
            h += rng.normal(0, p.health_noise)
            if rng.random() < p.shock_probability:
                h += p.shock_size
            health[t] = h
        hazard = 1 / (1 + np.exp(-(intercept - _HAZARD_SLOPE * health[months:])))
        defaulted = bool((rng.random(12) < hazard).any())

        category = categories[int(rng.integers(len(categories)))]
        base_refund = CATEGORIES[category]
        aov = p.median_order_value * np.exp(rng.normal(0, 0.4))
        t_idx = np.arange(months)
        hist = health[:months]
        expected_sales = level * np.exp(trend * t_idx) * season * np.exp(0.35 * hist)
        # A weak firm sometimes stops selling for a month.
        dormant = rng.random(months) < 1 / (1 + np.exp(3 + 2.0 * hist))
        lam = np.where(dormant, 0.0, expected_sales / aov)
        orders = np.minimum(rng.poisson(lam), p.max_orders_per_month)
        order_month = np.repeat(t_idx, orders)
        n = order_month.size
        amount = np.round(aov * np.exp(rng.normal(0, 0.5, n)), 2)
        amount = np.maximum(amount, 1.0)
        # Active days grow with volume; weak firms sell on fewer days.
        days_in_month = 28
        spread = np.clip((orders / 3).astype(int) + 1, 1, days_in_month)
        day_pool = [rng.choice(days_in_month, size=int(s), replace=False) + 1 for s in spread]
        order_day = (
            np.concatenate(
                [rng.choice(day_pool[t], size=int(orders[t])) for t in range(months)]
            ).astype(np.int64)
            if n
            else np.zeros(0, dtype=np.int64)
        )
        # Buyer concentration: a Zipf-like pool; some firms depend on a few buyers.
        pool_size = max(int(orders.sum() * rng.uniform(0.3, 0.9)), 1)
        concentration = rng.uniform(0.6, 1.4)
        weights = 1.0 / np.arange(1, pool_size + 1) ** concentration
        weights /= weights.sum()
        buyer = rng.choice(pool_size, size=n, p=weights) if n else np.zeros(0, dtype=np.int64)
        refund_p = np.clip(base_refund * np.exp(-0.4 * hist[order_month]), 0, 0.9)
        refunded = rng.random(n) < refund_p
        cb_p = np.clip(p.chargeback_rate * np.exp(-0.8 * hist[order_month]), 0, 0.2)
        charged_back = (rng.random(n) < cb_p) & ~refunded
        yield SimFirm(
            index=i,
            industry=INDUSTRIES[int(rng.integers(len(INDUSTRIES)))],
            region_code=REGIONS[int(rng.integers(len(REGIONS)))],
            category=category,
            employees=int(rng.integers(1, 60)),
            months=month_list,
            defaulted_12m=defaulted,
            order_month=order_month.astype(np.int64),
            order_day=order_day,
            order_amount=amount,
            order_buyer=buyer.astype(np.int64),
            refunded=refunded,
            charged_back=charged_back,
        )
