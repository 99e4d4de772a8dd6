"""Seeded generator of merchant histories with a latent health process and a 12-month default label.

Assumptions (docs/generator.md explains each and its public source) are the parameters of
GeneratorParams, never literals in the code below. Firm i of a seed is the same firm whatever
`n_firms` is: each firm draws from its own stream `default_rng([seed, i])`.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache

import numpy as np

from services.credit.features import MonthFigures

SHANGHAI = timezone(timedelta(hours=8))
REGIONS = ["330106", "440305", "310115", "110105", "320505", "510107", "420106", "350203"]
INDUSTRIES = ["retail", "retail", "retail", "wholesale", "industry", "catering", "software_it"]
# Category -> base refund rate (share of orders refunded by a firm of average health).
CATEGORIES = {
    "apparel": 0.25,
    "electronics": 0.10,
    "home": 0.08,
    "beauty": 0.08,
    "food": 0.04,
}
# First day of the lunar new year (Spring Festival), by Gregorian year.
SPRING_FESTIVAL = {
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
}
# Future months over which the default label is observed.
LABEL_MONTHS = 12
# Monte Carlo size used to solve the hazard intercept that hits the target default rate.
_CALIBRATION_FIRMS = 20_000


@dataclass(frozen=True)
class GeneratorParams:
    """Every assumption of the generator; docs/generator.md gives the public figure of each."""

    # Target 12-month default rate (2-8% for thin-file online merchants; NPL 1-6%).
    target_default_rate: float = 0.05
    # Monthly sales of the median firm, CNY, and its spread across firms (lognormal sigma).
    median_monthly_sales: float = 30_000.0
    sales_sigma: float = 0.8
    # Average order value, CNY (about CNY 86-480 across Chinese platforms).
    median_order_value: float = 150.0
    # Monthly trend of sales across firms: mean and spread (growth and decline).
    growth_mean: float = 0.005
    growth_sd: float = 0.025
    # Latent health: AR(1) with persistence and monthly noise; rare negative shocks.
    health_persistence: float = 0.9
    health_noise: float = 0.25
    shock_probability: float = 0.02
    shock_size: float = -1.2
    # Sensitivity of sales (log), refunds, chargebacks and dormancy to health.
    sales_health_beta: float = 0.35
    refund_health_beta: float = 0.4
    chargeback_health_beta: float = 0.8
    # A firm whose health falls below this closes for good (a failure; it counts as a default).
    failure_threshold: float = -3.8
    # Monthly default hazard = sigmoid(intercept - slope * health); intercept solved for target.
    hazard_slope: float = 1.6
    # Chargebacks as share of orders (card disputes average 0.5-0.6%).
    chargeback_rate: float = 0.005
    # Month-of-year multipliers left after the festival days below (1.0 = none).
    seasonality: tuple[float, ...] = (1.0,) * 12
    # Singles' Day: the festival (Oct 21 - Nov 10) and the day itself (Nov 11).
    singles_day_festival_uplift: float = 1.3
    singles_day_peak: float = 2.0
    # "618" (Jun 1 - 18).
    mid_year_festival_uplift: float = 1.3
    # Spring Festival: a run-up in the 3 weeks before, then couriers stop for about two weeks.
    spring_festival_runup: float = 1.6
    spring_festival_pause: float = 0.25
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
    # Month index (in `months`) after which the firm stopped trading, if it failed.
    failed_month: int | None = None
    # Per order: month index, day of month, amount (CNY, 2 decimals), buyer index, flags.
    order_month: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    order_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    order_amount: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    order_buyer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    refunded: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    charged_back: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)

    @property
    def firm_ref(self) -> str:
        """The reference a platform would use for this merchant."""
        return f"m{self.index:06d}"

    @property
    def annual_revenue_cny(self) -> Decimal:
        """Sales over the last 12 months, as the firm would declare it."""
        last12 = self.order_month >= len(self.months) - 12
        return Decimal(str(round(float(self.order_amount[last12].sum()), 2)))

    @property
    def as_of_month(self) -> str:
        """The month after the history: features are taken as of its first day."""
        last = self.months[-1]
        year, month = int(last[:4]), int(last[5:7]) + 1
        if month == 13:
            year, month = year + 1, 1
        return f"{year:04d}-{month:02d}"

    def month_figures(self) -> list[MonthFigures]:
        """The monthly metrics an ingest of this firm's transactions produces."""
        n_months = len(self.months)
        m = self.order_month
        if m.size == 0:
            return []
        sales = np.bincount(m, weights=self.order_amount, minlength=n_months)
        counts = np.bincount(m, minlength=n_months)
        refunds = np.bincount(m, weights=self.order_amount * self.refunded, minlength=n_months)
        cbs = np.bincount(m, weights=self.order_amount * self.charged_back, minlength=n_months)
        cb_count = np.bincount(m, weights=self.charged_back, minlength=n_months)
        pool = int(self.order_buyer.max()) + 1
        keys = m.astype(np.int64) * pool + self.order_buyer
        uniq, inverse, per_key_orders = np.unique(keys, return_inverse=True, return_counts=True)
        per_key_sales = np.bincount(inverse, weights=self.order_amount)
        key_month = uniq // pool
        distinct = np.bincount(key_month, minlength=n_months)
        repeat = np.bincount(key_month, weights=per_key_orders >= 2, minlength=n_months)
        top = np.zeros(n_months)
        np.maximum.at(top, key_month, per_key_sales)
        day_keys = np.unique(m * 32 + self.order_day)
        active = np.bincount(day_keys // 32, minlength=n_months)
        return [
            MonthFigures(
                month=month,
                currency="CNY",
                sales=round(float(sales[i]), 2),
                sales_count=int(counts[i]),
                refunds=round(float(refunds[i]), 2),
                chargebacks=round(float(cbs[i]), 2),
                chargeback_count=int(cb_count[i]),
                distinct_buyers=int(distinct[i]),
                repeat_buyers=int(repeat[i]),
                top_buyer_sales=round(float(top[i]), 2),
                active_days=int(active[i]),
            )
            for i, month in enumerate(self.months)
            if counts[i] > 0
        ]

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
            # Refunds and chargebacks land a little later; orders end by 23:00, so the same day.
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


def day_weights(month: str, p: GeneratorParams) -> np.ndarray:
    """Relative sales of each day of a month (31 slots; days past the month's end weigh 0)."""
    year, mon = int(month[:4]), int(month[5:7])
    n_days = calendar.monthrange(year, mon)[1]
    w = np.zeros(31)
    w[:n_days] = p.seasonality[mon - 1]
    days = [date(year, mon, d) for d in range(1, n_days + 1)]
    for i, d in enumerate(days):
        if (mon == 10 and d.day >= 21) or (mon == 11 and d.day <= 10):
            w[i] *= p.singles_day_festival_uplift
        elif mon == 11 and d.day == 11:
            w[i] *= p.singles_day_peak
        elif mon == 6 and d.day <= 18:
            w[i] *= p.mid_year_festival_uplift
        for festival in (SPRING_FESTIVAL.get(year), SPRING_FESTIVAL.get(year + 1)):
            if festival is None:
                continue
            offset = (d - festival).days
            if -28 <= offset < -7:
                w[i] *= p.spring_festival_runup
            elif -7 <= offset < 10:
                w[i] *= p.spring_festival_pause
    return w


def _health_paths(
    rng: np.random.Generator, quality: np.ndarray, steps: int, p: GeneratorParams
) -> np.ndarray:
    """Latent health of many firms over `steps` months: AR(1) around each firm's quality."""
    n = quality.size
    health = np.empty((n, steps))
    h = quality.copy()
    for t in range(steps):
        h = p.health_persistence * h + (1 - p.health_persistence) * quality
        h = h + rng.normal(0, p.health_noise, n)
        h = h + np.where(rng.random(n) < p.shock_probability, p.shock_size, 0.0)
        health[:, t] = h
    return health


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@lru_cache(maxsize=32)
def hazard_intercept(p: GeneratorParams, months: int = 24) -> float:
    """The monthly hazard intercept whose 12-month default rate (failures included) hits target.

    Solved once per parameter set by bisection over a fixed Monte Carlo sample of health paths.
    """
    rng = np.random.default_rng(12345)
    quality = rng.normal(0, 1, _CALIBRATION_FIRMS)
    health = _health_paths(rng, quality, months + LABEL_MONTHS, p)
    failed = (health[:, :months] < p.failure_threshold).any(axis=1)
    future = health[:, months:]
    u = rng.random(future.shape)
    lo, hi = -15.0, 5.0
    for _ in range(50):
        mid = (lo + hi) / 2
        defaults = (u < _sigmoid(mid - p.hazard_slope * future)).any(axis=1) | failed
        if defaults.mean() < p.target_default_rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def simulate(
    n_firms: int,
    seed: int = 7,
    months: int = 24,
    end_month: str | None = None,
    params: GeneratorParams | None = None,
    first_index: int = 0,
) -> Iterator[SimFirm]:
    """Simulate merchants `first_index ..` over `months` months ending before `end_month`."""
    if months < 12:
        raise ValueError("histories need at least 12 months")
    p = params or GeneratorParams()
    month_list = month_keys(end_month or default_end_month(), months)
    weights = np.array([day_weights(m, p) for m in month_list])
    month_mult = weights.sum(axis=1) / np.array(
        [calendar.monthrange(int(m[:4]), int(m[5:7]))[1] for m in month_list]
    )
    intercept = hazard_intercept(p, months)
    categories = list(CATEGORIES)
    for i in range(first_index, first_index + n_firms):
        yield _simulate_firm(
            np.random.default_rng([seed, i]), i, month_list, weights, month_mult, intercept, p,
            categories,
        )  # fmt: skip


def _simulate_firm(
    rng: np.random.Generator,
    index: int,
    month_list: list[str],
    weights: np.ndarray,
    month_mult: np.ndarray,
    intercept: float,
    p: GeneratorParams,
    categories: list[str],
) -> SimFirm:
    months = len(month_list)
    quality = rng.normal(0, 1, 1)
    health = _health_paths(rng, quality, months + LABEL_MONTHS, p)[0]
    hist = health[:months]
    below = np.nonzero(hist < p.failure_threshold)[0]
    failed_month = int(below[0]) if below.size else None
    hazard = _sigmoid(intercept - p.hazard_slope * health[months:])
    defaulted = failed_month is not None or bool((rng.random(LABEL_MONTHS) < hazard).any())

    level = p.median_monthly_sales * np.exp(rng.normal(0, p.sales_sigma))
    trend = rng.normal(p.growth_mean, p.growth_sd)
    category = categories[int(rng.integers(len(categories)))]
    aov = p.median_order_value * np.exp(rng.normal(0, 0.4))
    t_idx = np.arange(months)
    # Growth and decline are relative to the middle of the history, so levels stay comparable.
    growth = np.exp(trend * (t_idx - months / 2))
    expected_sales = level * growth * month_mult * np.exp(p.sales_health_beta * hist)
    # A weak firm sometimes stops selling for a month; a failed firm stops for good.
    dormant = rng.random(months) < _sigmoid(-3 - 2.0 * hist)
    if failed_month is not None:
        dormant[failed_month + 1 :] = True
    lam = np.where(dormant, 0.0, expected_sales / aov)
    orders = np.minimum(rng.poisson(lam), p.max_orders_per_month)
    order_month = np.repeat(t_idx, orders)
    n = order_month.size
    amount = np.maximum(np.round(aov * np.exp(rng.normal(0, 0.5, n)), 2), 1.0)
    # Selling days grow with volume; orders fall on them in proportion to the day's weight.
    spread = np.clip(orders // 3 + 1, 1, 31)
    priority = rng.random((months, 31)) + (weights <= 0) * 2.0
    rank = np.argsort(np.argsort(priority, axis=1), axis=1)
    day_w = np.where(rank < spread[:, None], weights, 0.0)
    day_w = np.where(day_w.sum(axis=1, keepdims=True) > 0, day_w, weights)
    cum = np.cumsum(day_w, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(n)
    order_day = (cum[order_month] < u[:, None]).sum(axis=1).astype(np.int64) + 1
    # Buyer concentration: a Zipf-like pool; weaker firms lean on fewer buyers.
    pool_size = max(int(orders.sum() * rng.uniform(0.3, 0.9)), 1)
    concentration = float(np.clip(rng.uniform(0.6, 1.4) - 0.15 * quality[0], 0.4, 1.8))
    buyer_w = 1.0 / np.arange(1, pool_size + 1) ** concentration
    buyer = rng.choice(pool_size, size=n, p=buyer_w / buyer_w.sum())
    refund_p = np.clip(
        CATEGORIES[category] * np.exp(-p.refund_health_beta * hist[order_month]), 0, 0.9
    )
    refunded = rng.random(n) < refund_p
    cb_p = np.clip(
        p.chargeback_rate * np.exp(-p.chargeback_health_beta * hist[order_month]), 0, 0.2
    )
    charged_back = (rng.random(n) < cb_p) & ~refunded
    return SimFirm(
        index=index,
        industry=INDUSTRIES[int(rng.integers(len(INDUSTRIES)))],
        region_code=REGIONS[int(rng.integers(len(REGIONS)))],
        category=category,
        employees=int(rng.integers(1, 60)),
        months=month_list,
        defaulted_12m=defaulted,
        failed_month=failed_month,
        order_month=order_month.astype(np.int64),
        order_day=order_day,
        order_amount=amount,
        order_buyer=buyer.astype(np.int64),
        refunded=refunded,
        charged_back=charged_back,
    )
