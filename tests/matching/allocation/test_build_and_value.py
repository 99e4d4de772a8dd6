"""Building an instance from rows, and the expected-surplus formula."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from services.matching.allocation import (
    ApplicationRow,
    Guarantor,
    Lender,
    Objective,
    OptionRow,
    build_instance,
    expected_surplus,
    fen,
)

pytestmark = pytest.mark.backend_free


def test_build_converts_money_and_keeps_offer_order() -> None:
    instance = build_instance(
        [
            ApplicationRow("a", "f", Decimal("1000.005"), 3),
            ApplicationRow("b", "f", Decimal(10), 1),
        ],
        [
            OptionRow("b", "lp2", "L", Decimal(2)),
            OptionRow("a", "lp2", "L", Decimal("7.5"), "gp", "G", Decimal("0.333")),
            OptionRow("a", "lp1", "L", Decimal(9)),
        ],
        [Lender("L", budget=1)],
        [Guarantor("G", net_assets=1, leverage_multiple=10)],
    )
    assert instance.app_amount.tolist() == [100_001, 1_000]
    assert instance.opt_app.tolist() == [0, 0, 1]
    assert instance.opt_exposure.tolist() == [33_300, 0, 0]  # 100,001 x 0.333, half up
    assert instance.opt_surplus.tolist() == [7.5, 9.0, 2.0]
    assert instance.option_values(Objective.FINANCED_AMOUNT).tolist() == [1000.01, 1000.01, 10.0]
    assert fen(Decimal("0.005")) == 1


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (OptionRow("x", "lp", "L", Decimal(1)), "unknown application"),
        (OptionRow("a", "lp", "M", Decimal(1)), "unknown lender"),
        (OptionRow("a", "lp", "L", Decimal(1), "gp", None), "go together"),
        (OptionRow("a", "lp", "L", Decimal(1), "gp", "H", Decimal("0.5")), "unknown guarantor"),
        (OptionRow("a", "lp", "L", Decimal(1), "gp", "G", Decimal("1.5")), "coverage"),
    ],
)
def test_build_rejects_bad_rows(option: OptionRow, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_instance(
            [ApplicationRow("a", "f", Decimal(1), 0)],
            [option],
            [Lender("L", budget=1)],
            [Guarantor("G", net_assets=1, leverage_multiple=10)],
        )


def test_surplus_without_risk_is_interest_and_fees() -> None:
    s = expected_surplus(
        amount=120_000,
        term_months=12,
        annual_rate=0.12,
        upfront_fee_rate=0.01,
        funding_rate=0.0,
        pd_12m=0.0,
        lgd=0.5,
    )
    monthly = 0.01
    payment = 120_000 * monthly / (1 - (1 + monthly) ** -12)
    assert float(s.total) == pytest.approx(payment * 12 - 120_000 + 1_200)
    assert float(s.guarantee_side) == 0.0


def test_guarantee_moves_loss_not_total_and_fee_adds_to_it() -> None:
    common = dict(
        amount=np.array([100_000.0]),
        term_months=24,
        annual_rate=0.1,
        upfront_fee_rate=0.0,
        funding_rate=0.03,
        pd_12m=0.05,
        lgd=0.6,
    )
    bare = expected_surplus(**common)
    covered = expected_surplus(**common, coverage=0.8)
    charged = expected_surplus(**common, coverage=0.8, guarantee_fee_rate=0.01)
    assert covered.total[0] == pytest.approx(bare.total[0])
    assert covered.lender[0] > bare.lender[0]
    assert covered.guarantee_side[0] < 0
    assert charged.total[0] > covered.total[0]
    assert charged.guarantee_side[0] > covered.guarantee_side[0]
