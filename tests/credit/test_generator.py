"""The merchant-history generator: reproducible, seasonal, with a documented default rate."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from services.credit.generator import (
    SPRING_FESTIVAL,
    GeneratorParams,
    hazard_intercept,
    simulate,
)

pytestmark = pytest.mark.backend_free

SMALL = GeneratorParams(median_monthly_sales=3_000.0)


def test_same_seed_same_firms_and_firm_independent_of_run_size() -> None:
    a = list(simulate(5, seed=42, end_month="2026-11", params=SMALL))
    b = list(simulate(20, seed=42, end_month="2026-11", params=SMALL))
    for x, y in zip(a, b[:5], strict=True):
        assert x.month_figures() == y.month_figures()
        assert x.defaulted_12m == y.defaulted_12m
    c = list(simulate(5, seed=43, end_month="2026-11", params=SMALL))
    assert [f.month_figures() for f in a] != [f.month_figures() for f in c]
    # first_index continues a run: firm 7 is firm 7 whichever chunk made it.
    d = next(simulate(1, seed=42, end_month="2026-11", params=SMALL, first_index=3))
    assert d.month_figures() == b[3].month_figures()


@pytest.mark.parametrize("target", [0.03, 0.05, 0.08])
def test_default_rate_hits_target_within_documented_range(target: float) -> None:
    params = GeneratorParams(median_monthly_sales=1_000.0, target_default_rate=target)
    firms = list(simulate(3000, seed=5, end_month="2026-11", params=params))
    rate = float(np.mean([f.defaulted_12m for f in firms]))
    assert 0.02 <= rate <= 0.085
    # 3,000 Bernoulli draws: a standard error of at most 0.5 point.
    assert abs(rate - target) < 0.015


def test_hazard_intercept_moves_with_target() -> None:
    low = hazard_intercept(GeneratorParams(target_default_rate=0.02))
    high = hazard_intercept(GeneratorParams(target_default_rate=0.08))
    assert low < high


def test_history_length_is_parameter() -> None:
    firm = next(simulate(1, seed=1, months=36, end_month="2026-11", params=SMALL))
    assert len(firm.months) == 36
    assert firm.months[0] == "2023-11" and firm.months[-1] == "2026-10"
    assert firm.as_of_month == "2026-11"
    with pytest.raises(ValueError):
        next(simulate(1, months=6))


def _daily_orders(firms: list, month: str) -> dict[int, int]:  # type: ignore[type-arg]
    out: dict[int, int] = defaultdict(int)
    for f in firms:
        t = f.months.index(month)
        for d in f.order_day[f.order_month == t]:
            out[int(d)] += 1
    return out


def test_singles_day_and_spring_festival_shape_sales() -> None:
    firms = list(simulate(300, seed=9, months=36, end_month="2026-11", params=SMALL))
    nov = _daily_orders(firms, "2025-11")
    other_nov = np.mean([nov[d] for d in range(15, 31)])
    assert nov[11] > 1.5 * other_nov
    # Spring Festival 2026 (Feb 17): the weeks before run up, couriers pause after.
    festival = SPRING_FESTIVAL[2026]
    counts: dict[date, int] = defaultdict(int)
    for f in firms:
        for t, d in zip(f.order_month, f.order_day, strict=True):
            m = f.months[int(t)]
            counts[date(int(m[:4]), int(m[5:7]), int(d))] += 1
    runup = np.mean([counts[festival - timedelta(days=k)] for k in range(8, 28)])
    pause = np.mean([counts[festival + timedelta(days=k)] for k in range(0, 9)])
    normal = np.mean([counts[date(2026, 4, d)] for d in range(1, 29)])
    assert runup > 1.2 * normal
    assert pause < 0.5 * normal


def test_refunds_chargebacks_concentration_growth_and_failures() -> None:
    firms = list(simulate(2000, seed=11, end_month="2026-11", params=SMALL))
    assert np.mean([f.refunded.mean() for f in firms if f.refunded.size]) > 0.02
    assert sum(int(f.charged_back.sum()) for f in firms) > 0
    figs = [f.month_figures() for f in firms]
    shares = [max(m.top_buyer_sales / m.sales for m in fg) for fg in figs if fg]
    assert min(shares) < 0.2 < max(shares)
    growth = []
    for fg in figs:
        if len(fg) >= 24:
            growth.append(sum(m.sales for m in fg[-6:]) / sum(m.sales for m in fg[:6]))
    assert min(growth) < 0.7 and max(growth) > 1.3
    failed = [f for f in firms if f.failed_month is not None]
    assert failed, "some firms fail during their history"
    for f in failed:
        assert f.defaulted_12m
        assert not (f.order_month > f.failed_month).any()


def test_transactions_add_up_to_month_figures() -> None:
    firm = next(simulate(1, seed=3, end_month="2026-11", params=SMALL))
    sales: dict[str, Decimal] = defaultdict(Decimal)
    refunds: dict[str, Decimal] = defaultdict(Decimal)
    for row in firm.transactions():
        month = row["occurred_at"][:7]
        if row["type"] == "sale":
            sales[month] += Decimal(row["amount"])
        elif row["type"] == "refund":
            refunds[month] += Decimal(row["amount"])
    for fig in firm.month_figures():
        assert abs(float(sales[fig.month]) - fig.sales) < 0.01
        assert abs(float(refunds[fig.month]) - fig.refunds) < 0.01
    assert firm.firm_ref == "m000000"
    assert firm.annual_revenue_cny > 0
