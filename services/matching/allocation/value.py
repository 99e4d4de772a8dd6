"""Expected surplus of a loan for all parties: interest and fees minus funding and expected loss.

Written with numpy operations so the same formula prices one option or a million at once.
Guarantee coverage and loss shares move money between the lender and the guarantee side
(the lender prices only the loss share it keeps, the guarantor earns its fee and carries its
share of the loss); the total changes through the price and through the guarantee fee.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Surplus:
    """Expected surplus (CNY) over the loan's life: the lender's, the guarantee side's, total."""

    lender: Floats
    guarantee_side: Floats
    total: Floats


def expected_surplus(
    *,
    amount: ArrayLike,
    term_months: ArrayLike,
    annual_rate: ArrayLike,
    upfront_fee_rate: ArrayLike,
    funding_rate: ArrayLike,
    pd_12m: ArrayLike,
    lgd: ArrayLike,
    coverage: ArrayLike = 0.0,
    guarantee_fee_rate: ArrayLike = 0.0,
) -> Surplus:
    """Interest and fees collected, minus funding cost and expected loss, for a level-payment loan.

    Lifetime default probability is 1 - (1 - pd_12m)^(term/12); income after default is lost,
    the loss given default applies to the average outstanding balance, and the guarantee
    (coverage share of the loss) is charged guarantee_fee_rate a year on the covered balance.
    """
    amt = np.asarray(amount, dtype=np.float64)
    term = np.asarray(term_months, dtype=np.float64)
    rate = np.asarray(annual_rate, dtype=np.float64)
    cov = np.asarray(coverage, dtype=np.float64)
    monthly = rate / 12.0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (1.0 + monthly) ** term
        payment = np.where(monthly > 0, amt * monthly * factor / (factor - 1.0), amt / term)
    interest = payment * term - amt
    # Average balance x years, from interest = rate x balance-years (or a straight line at 0%).
    with np.errstate(divide="ignore", invalid="ignore"):
        balance_years = np.where(rate > 0, interest / rate, amt * (term + 1.0) / 24.0)
    average_balance = balance_years / (term / 12.0)
    pd_life = 1.0 - (1.0 - np.asarray(pd_12m, dtype=np.float64)) ** (term / 12.0)
    expected_loss = pd_life * np.asarray(lgd, dtype=np.float64) * average_balance
    guarantee_fee = np.asarray(guarantee_fee_rate, dtype=np.float64) * cov * balance_years
    lender = (
        interest * (1.0 - pd_life)
        + amt * np.asarray(upfront_fee_rate, dtype=np.float64)
        - np.asarray(funding_rate, dtype=np.float64) * balance_years
        - expected_loss * (1.0 - cov)
    )
    guarantee_side = guarantee_fee * (1.0 - pd_life) - expected_loss * cov
    return Surplus(lender=lender, guarantee_side=guarantee_side, total=lender + guarantee_side)
