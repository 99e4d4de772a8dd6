"""Pricing: the all-in annual cost is the effective rate of the firm's actual cash flows."""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np
import pytest

from services.matching.pricing import all_in_costs, annual_rate_for, monthly_payment, quote

pytestmark = pytest.mark.backend_free


def test_no_fees_all_in_is_compounded_nominal_rate() -> None:
    q = quote(
        amount=Decimal(120000),
        term_months=12,
        annual_rate=Decimal("0.12"),
        upfront_fee_rate=Decimal(0),
    )
    assert q.monthly_payment == Decimal("10661.85")
    # (1 + 1%)^12 - 1, up to the rounding of payments to the fen
    assert abs(float(q.all_in_annual_cost) - (1.01**12 - 1)) < 2e-5


def test_upfront_and_guarantee_fees_raise_the_all_in_cost() -> None:
    plain = quote(
        amount=Decimal(100000),
        term_months=12,
        annual_rate=Decimal("0.08"),
        upfront_fee_rate=Decimal(0),
    )
    upfront = quote(
        amount=Decimal(100000),
        term_months=12,
        annual_rate=Decimal("0.08"),
        upfront_fee_rate=Decimal("0.01"),
    )
    guaranteed = quote(
        amount=Decimal(100000),
        term_months=12,
        annual_rate=Decimal("0.08"),
        upfront_fee_rate=Decimal(0),
        guarantee_fee_rate=Decimal("0.01"),
        guarantee_coverage=Decimal("0.8"),
    )
    assert upfront.all_in_annual_cost > plain.all_in_annual_cost + Decimal("0.015")
    assert guaranteed.guarantee_fee > 0
    assert guaranteed.all_in_annual_cost > plain.all_in_annual_cost
    assert upfront.total_cost == plain.total_cost + Decimal(1000)


def test_a_lower_rate_with_a_big_fee_can_cost_more() -> None:
    cheap_rate = quote(
        amount=Decimal(50000),
        term_months=6,
        annual_rate=Decimal("0.06"),
        upfront_fee_rate=Decimal("0.03"),
    )
    honest = quote(
        amount=Decimal(50000),
        term_months=6,
        annual_rate=Decimal("0.10"),
        upfront_fee_rate=Decimal(0),
    )
    assert cheap_rate.annual_rate < honest.annual_rate
    assert cheap_rate.all_in_annual_cost > honest.all_in_annual_cost


def test_rate_grows_with_pd_and_is_capped() -> None:
    low = annual_rate_for(
        base_rate=Decimal("0.05"),
        premium_per_pd=Decimal(2),
        max_rate=Decimal("0.2"),
        pd_priced=0.01,
    )
    high = annual_rate_for(
        base_rate=Decimal("0.05"), premium_per_pd=Decimal(2), max_rate=Decimal("0.2"), pd_priced=0.5
    )
    assert low == Decimal("0.07")
    assert high == Decimal("0.2")


def test_zero_rate_payment() -> None:
    assert monthly_payment(Decimal(1200), Decimal(0), 12) == Decimal(100)


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_float_cost_matches_exact_decimal(seed: int) -> None:
    rng = random.Random(seed)
    amount = Decimal(rng.randrange(1000, 1_000_000))
    term = rng.randrange(1, 61)
    rates = [Decimal(rng.randrange(0, 240_000)) / 1_000_000 for _ in range(20)]
    fees = [Decimal(rng.randrange(0, 30_000)) / 1_000_000 for _ in range(20)]
    g = [Decimal(rng.randrange(0, 20_000)) / 1_000_000 for _ in range(20)]
    cov = Decimal("0.8")
    fast = all_in_costs(
        amount=float(amount),
        term_months=term,
        annual_rates=np.array([float(r) for r in rates]),
        upfront_fee_rates=np.array([float(f) for f in fees]),
        guarantee_fee_rates=np.array([float(x * cov) for x in g]),
    )
    for i in range(20):
        exact = quote(
            amount=amount,
            term_months=term,
            annual_rate=rates[i],
            upfront_fee_rate=fees[i],
            guarantee_fee_rate=g[i],
            guarantee_coverage=cov,
        )
        # the exact figures round every payment to the fen; the float pass does not
        assert abs(float(exact.all_in_annual_cost) - fast[i]) < 5e-4, (i, exact, fast[i])
