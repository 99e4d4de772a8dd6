"""Loan pricing and the honest all-in cost: the effective annual rate of the firm's cash flows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """Round money to the fen, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def annual_rate_for(
    *, base_rate: Decimal, premium_per_pd: Decimal, max_rate: Decimal, pd_priced: float
) -> Decimal:
    """Nominal annual rate: base plus a premium growing with the PD the lender carries, capped."""
    rate = base_rate + premium_per_pd * Decimal(str(round(pd_priced, 6)))
    return min(rate, max_rate).quantize(Decimal("0.000001"))


def monthly_payment(amount: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
    """Level payment of a monthly amortising loan (annual nominal rate / 12 each month)."""
    r = annual_rate / 12
    if r == 0:
        return cents(amount / term_months)
    factor = (1 + r) ** term_months
    return cents(amount * r * factor / (factor - 1))


def effective_annual_rate(
    net_received: Decimal, payments: list[Decimal], *, tol: float = 1e-12
) -> Decimal:
    """The annual rate i with (1+i)^(1/12)-compounded payments worth exactly what was received."""
    received = float(net_received)
    flows = [float(p) for p in payments]
    if received <= 0:
        raise ValueError("nothing received")
    times = range(1, len(flows) + 1)

    def pv(monthly: float) -> float:
        return sum(f / (1 + monthly) ** t for t, f in zip(times, flows, strict=True)) - received

    # Newton from the payments' average return; PV falls monotonically in the rate, so when a
    # step leaves the sane range the bracketing bisection below finishes the job.
    monthly = max(sum(flows) / received - 1, 0.0) / max(len(flows), 1)
    for _ in range(50):
        value = pv(monthly)
        slope = -sum(t * f / (1 + monthly) ** (t + 1) for t, f in zip(times, flows, strict=True))
        if slope == 0:
            break
        step = value / slope
        monthly -= step
        if not -0.99 < monthly < 10.0:
            break
        if abs(step) < tol:
            return Decimal(str(round((1 + monthly) ** 12 - 1, 6)))
    lo, hi = -0.99, 10.0
    if pv(lo) < 0:
        return Decimal("-0.99")
    for _ in range(200):
        mid = (lo + hi) / 2
        if pv(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    monthly = (lo + hi) / 2
    return Decimal(str(round((1 + monthly) ** 12 - 1, 6)))


@dataclass(frozen=True)
class Quote:
    """The price of one loan (optionally with a guarantee fee) and what it really costs."""

    annual_rate: Decimal
    upfront_fee: Decimal
    guarantee_fee: Decimal
    monthly_payment: Decimal
    total_cost: Decimal
    all_in_annual_cost: Decimal


def quote(
    *,
    amount: Decimal,
    term_months: int,
    annual_rate: Decimal,
    upfront_fee_rate: Decimal,
    guarantee_fee_rate: Decimal = Decimal(0),
    guarantee_coverage: Decimal = Decimal(0),
) -> Quote:
    """Price a loan: level payments, upfront fee, guarantee fee on the covered outstanding balance.

    The guarantee fee is charged monthly in arrears at guarantee_fee_rate/12 on the covered
    share of the balance outstanding that month, so a cheaper-looking rate cannot hide fees.
    """
    payment = monthly_payment(amount, annual_rate, term_months)
    upfront = cents(amount * upfront_fee_rate)
    balance = amount
    r = annual_rate / 12
    flows: list[Decimal] = []
    guarantee_total = Decimal(0)
    for k in range(term_months):
        g_fee = cents(balance * guarantee_coverage * guarantee_fee_rate / 12)
        guarantee_total += g_fee
        interest = balance * r
        principal = payment - interest if k < term_months - 1 else balance
        pay = payment if k < term_months - 1 else cents(balance + interest)
        flows.append(pay + g_fee)
        balance -= principal
    total_paid = sum(flows, Decimal(0))
    total_cost = cents(total_paid + upfront - amount)
    return Quote(
        annual_rate=annual_rate,
        upfront_fee=upfront,
        guarantee_fee=cents(guarantee_total),
        monthly_payment=payment,
        total_cost=total_cost,
        all_in_annual_cost=effective_annual_rate(amount - upfront, flows),
    )


def rate_for_float(
    base_rate: float, premium_per_pd: float, max_rate: float, pd_priced: float
) -> float:
    """annual_rate_for in float, for the screening loop (the offer itself is priced in Decimal)."""
    return min(base_rate + premium_per_pd * round(pd_priced, 6), max_rate)


def all_in_costs(
    *,
    amount: float,
    term_months: int,
    annual_rates: np.ndarray,
    upfront_fee_rates: np.ndarray,
    guarantee_fee_rates: np.ndarray,
) -> np.ndarray:
    """Effective annual rates of many quotes at once (float; ranks candidates before Decimal).

    Same cash flows as `quote`: level payments, upfront fee withheld, and a monthly guarantee fee
    on the covered balance (guarantee_fee_rates are fee rate x coverage). Newton on the monthly
    rate, vectorised over candidates.
    """
    n = term_months
    r = annual_rates / 12.0
    k = np.arange(n, dtype=float)
    growth = (1.0 + r)[:, None] ** np.arange(n + 1, dtype=float)[None, :]
    total = growth[:, n]
    with np.errstate(divide="ignore", invalid="ignore"):
        payment = np.where(r > 0, amount * r * total / (total - 1.0), amount / n)
        # balance at the start of month k of a level-payment loan
        balance = np.where(
            (r > 0)[:, None],
            amount * (total[:, None] - growth[:, :n]) / (total - 1.0)[:, None],
            amount * (1.0 - k[None, :] / n),
        )
    flows = payment[:, None] + balance * guarantee_fee_rates[:, None] / 12.0
    received = amount * (1.0 - upfront_fee_rates)
    m = np.maximum(annual_rates / 12.0, 1e-4)
    times = k + 1.0
    for _ in range(30):
        disc = (1.0 + m)[:, None] ** -times[None, :]
        f = (flows * disc).sum(axis=1) - received
        df = -(flows * disc * times[None, :] / (1.0 + m)[:, None]).sum(axis=1)
        step = f / df
        m = np.maximum(m - step, -0.99)
        if float(np.max(np.abs(step))) < 1e-12:
            break
    return np.asarray((1.0 + m) ** 12 - 1.0)
