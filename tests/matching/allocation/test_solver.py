"""solve() on generated instances: feasible, near the LP bound, above greedy, reasons for others."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import numpy as np
import pytest

from services.matching.allocation import (
    ApplicationRow,
    GeneratorConfig,
    Guarantor,
    Lender,
    Limit,
    Objective,
    OptionRow,
    build_instance,
    generate,
    run_summary,
    solve,
    verify,
)
from services.matching.allocation.reduce import reduce_instance
from services.matching.allocation.relaxation import solve_relaxation
from services.matching.allocation.report import (
    LOWER_VALUE_THAN_COMPETING,
    NO_ELIGIBLE_OPTION,
    NON_POSITIVE_VALUE,
)
from services.matching.allocation.resources import build_resources

pytestmark = pytest.mark.backend_free

SMALL = GeneratorConfig(n_apps=2_000)


@pytest.fixture(scope="module")
def instance():
    return generate(7, SMALL)


def test_generator_is_reproducible_and_its_limits_bind(instance) -> None:
    again = generate(7, SMALL)
    assert np.array_equal(instance.opt_app, again.opt_app)
    assert np.array_equal(instance.opt_surplus, again.opt_surplus)
    assert [x.budget for x in instance.lenders] == [x.budget for x in again.lenders]
    result = solve(instance, Objective.FINANCED_AMOUNT, exact_max_options=0)
    limits = Counter(x.limit for x in result.left_out)
    assert limits[Limit.LENDER_BUDGET.value] > 0
    # Demand exceeds supply: capacity, not eligibility, leaves most firms out.
    assert result.financed < instance.n_apps - sum(
        1 for x in result.left_out if x.reason == NO_ELIGIBLE_OPTION
    )


@pytest.mark.parametrize("objective", list(Objective))
def test_generated_instance_near_bound_and_above_greedy(instance, objective: Objective) -> None:
    result = solve(instance, objective, exact_max_options=0)
    assert verify(instance, result.chosen) == []
    assert result.bound_ratio >= 0.99
    assert result.value >= result.greedy_value
    assert result.gap == pytest.approx(1 - result.bound_ratio)
    assert result.financed + len(result.left_out) == instance.n_apps
    chosen = result.choices(instance)
    assert len(chosen) == result.financed
    assert sum(c.amount for c in chosen) == result.financed_amount
    assert sum(c.value for c in chosen) == pytest.approx(result.value)


@pytest.mark.parametrize("objective", list(Objective))
def test_sampled_prices_give_a_valid_bound_and_a_good_run(instance, objective: Objective) -> None:
    full = solve(instance, objective, exact_max_options=0)
    # A sample of 3/4 of the applications (the bench samples 10k of 100k: 10% but larger).
    sampled = solve(instance, objective, exact_max_options=0, lp_max_apps=500, sample_apps=1_500)
    assert sampled.bound_method == "lagrangian_at_sampled_lp_prices"
    assert full.bound_method == "lp"
    # A Lagrangian bound is never below the LP bound, whatever prices it is evaluated at.
    assert sampled.lp_bound >= full.lp_bound * (1 - 1e-6)
    assert verify(instance, sampled.chosen) == []
    assert sampled.bound_ratio >= 0.99


def test_reductions_keep_the_lp_bound(instance) -> None:
    res = build_resources(instance)
    values = instance.option_values(Objective.FINANCED_AMOUNT)
    reduced = reduce_instance(instance, res, values)
    everything = (reduced.blocked_alone < 0) & (values > 0)
    all_rows = np.arange(res.n_rows)
    full = solve_relaxation(instance, res, values, everything, all_rows, method="highs-ipm")
    lean = solve_relaxation(
        instance, res, values, reduced.alive, reduced.binding_rows, method="highs-ipm"
    )
    assert reduced.alive.sum() < everything.sum()
    assert lean.bound == pytest.approx(full.bound, rel=1e-6)
    assert lean.lp_objective == pytest.approx(full.lp_objective, rel=1e-6)


def test_left_out_reasons() -> None:
    apps = [
        ApplicationRow("none", "f0", Decimal(1000), 0, ineligible=("pd_above_appetite",)),
        ApplicationRow("big", "f1", Decimal(9000), 1),
        ApplicationRow("rich", "f2", Decimal(6000), 2),
        ApplicationRow("poor", "f3", Decimal(7000), 3),
        ApplicationRow("loss", "f4", Decimal(1000), 4),
    ]
    options = [
        # Guaranteed exposure 4,500 > client cap 10% x 40,000: never possible.
        OptionRow("big", "lp", "L", Decimal(50), "gp", "G", Decimal("0.5")),
        OptionRow("rich", "lp", "L", Decimal(500)),
        OptionRow("poor", "lp", "L", Decimal(100)),
        OptionRow("loss", "lp", "L", Decimal(-10)),
    ]
    instance = build_instance(
        apps,
        options,
        [Lender("L", budget=fen_of(12_000))],
        [Guarantor("G", net_assets=fen_of(40_000), leverage_multiple=10)],
    )
    result = solve(instance, Objective.EXPECTED_SURPLUS, exact_max_options=0)
    why = {x.application_id: x for x in result.left_out}
    assert (
        result.financed == 1
        and instance.app_ids[int(np.nonzero(result.chosen >= 0)[0][0])] == "rich"
    )
    assert why["none"].reason == NO_ELIGIBLE_OPTION
    assert why["none"].ineligible == ("pd_above_appetite",)
    assert why["big"].reason == Limit.GUARANTOR_CLIENT.value
    assert why["big"].holder == "G/f1"
    assert why["poor"].reason == LOWER_VALUE_THAN_COMPETING
    assert why["poor"].limit == Limit.LENDER_BUDGET.value
    assert why["poor"].holder == "L"
    assert why["loss"].reason == NON_POSITIVE_VALUE
    summary = run_summary(instance, result)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["objective_value"] == "500.00"
    assert summary["firms_financed"] == 1
    assert summary["choices"] == [
        {
            "application_id": "rich",
            "loan_product_id": "lp",
            "lender_id": "L",
            "guarantee_product_id": None,
            "guarantor_id": None,
            "amount": "6000.00",
            "guaranteed_exposure": "0.00",
            "value": "500.00",
        }
    ]
    assert {x["application_id"]: x["reason"] for x in summary["left_out"]} == {
        "none": NO_ELIGIBLE_OPTION,
        "big": Limit.GUARANTOR_CLIENT.value,
        "poor": LOWER_VALUE_THAN_COMPETING,
        "loss": NON_POSITIVE_VALUE,
    }


def fen_of(cny: int) -> int:
    return cny * 100
