"""Property tests: on small random instances no limit is broken and solve() finds the optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.matching.allocation import Instance, Objective, solve, verify
from tests.matching.allocation.small import brute_force, feasible, small_instances

pytestmark = pytest.mark.backend_free

BOUNDED = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


@BOUNDED
@given(small_instances(), st.sampled_from(list(Objective)))
def test_solve_is_feasible_and_equals_brute_force(instance: Instance, objective: Objective) -> None:
    result = solve(instance, objective)
    best = brute_force(instance, objective)
    assert verify(instance, result.chosen) == []
    assert _close(result.value, best), (result.value, best)
    assert result.lp_bound >= best - 1e-6 * max(1.0, best)
    assert result.greedy_value <= best + 1e-6 * max(1.0, best)
    assert result.proven_optimal


@BOUNDED
@given(small_instances(), st.sampled_from(list(Objective)))
def test_heuristic_path_never_breaks_a_limit(instance: Instance, objective: Objective) -> None:
    # exact_max_options=0 forces LP rounding, fill and local improvement alone.
    result = solve(instance, objective, exact_max_options=0)
    best = brute_force(instance, objective)
    assert verify(instance, result.chosen) == []
    assert result.value <= best + 1e-6 * max(1.0, best)
    assert result.value >= result.greedy_value - 1e-6 * max(1.0, best)
    assert result.financed + len(result.left_out) == instance.n_apps


@BOUNDED
@given(small_instances(), st.data())
def test_verify_agrees_with_the_rules(instance: Instance, data: st.DataObject) -> None:
    # Any choice at all, feasible or not: verify() must flag exactly the infeasible ones.
    starts = instance.option_starts()
    chosen = [
        data.draw(st.sampled_from([-1, *range(int(starts[a]), int(starts[a + 1]))]))
        for a in range(instance.n_apps)
    ]
    problems = verify(instance, np.array(chosen, dtype=np.int64))
    assert (problems == []) == feasible(instance, chosen), problems


@pytest.mark.parametrize("objective", list(Objective))
def test_brute_force_sees_a_binding_limit(objective: Objective) -> None:
    # Guards the oracle itself: two applications, budget for one.
    from decimal import Decimal

    from services.matching.allocation import ApplicationRow, Lender, OptionRow, build_instance

    instance = build_instance(
        [ApplicationRow("a", "f1", Decimal(5000), 0), ApplicationRow("b", "f2", Decimal(4000), 1)],
        [OptionRow("a", "lp", "L", Decimal(100)), OptionRow("b", "lp", "L", Decimal(300))],
        [Lender("L", budget=600_000)],
        [],
    )
    expected = 5000.0 if objective is Objective.FINANCED_AMOUNT else 300.0
    assert brute_force(instance, objective) == expected
    assert solve(instance, objective).value == expected
