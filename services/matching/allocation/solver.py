"""solve(): LP bound, rounding, local improvement (exact MILP when small), greedy beside it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from services.matching.allocation import exact, heuristic
from services.matching.allocation.greedy import greedy
from services.matching.allocation.model import Instance, IntArray, Objective
from services.matching.allocation.reduce import reduce_instance
from services.matching.allocation.relaxation import (
    METHOD_DEFAULT,
    METHOD_FOR_DEGENERATE,
    solve_relaxation,
    solve_sampled,
)
from services.matching.allocation.report import LeftOut, left_out
from services.matching.allocation.resources import Resources, build_resources

DEFAULT_TIME_LIMIT_S = 8.0
# Above this many applications the LP of the whole instance is too slow (about 80 s at 100k on
# this machine): prices come from the LP of a sample of this size instead (see relaxation.py).
LP_MAX_APPS = 20_000
SAMPLE_APPS = 10_000


@dataclass(frozen=True)
class Choice:
    """One financed application: the products and parties chosen and what it draws (fen)."""

    application_id: str
    loan_product_id: str
    lender_id: str
    guarantee_product_id: str | None
    guarantor_id: str | None
    amount: int
    guaranteed_exposure: int
    value: float


@dataclass(frozen=True)
class RunResult:
    """A run: the choice per application (option index or -1) and how good it is.

    value and lp_bound are in CNY under the objective; gap = (lp_bound - value) / lp_bound;
    greedy_value is the arrival-order baseline on the same instance. bound_method says where
    lp_bound comes from: "lp" (Lagrangian bound at the LP's optimal prices, equal to the LP
    optimum) or "lagrangian_at_sampled_lp_prices" (large instances; at least the LP optimum).
    """

    objective: Objective
    chosen: IntArray
    value: float
    lp_bound: float
    greedy_value: float
    financed: int
    financed_amount: int
    left_out: list[LeftOut]
    proven_optimal: bool
    bound_method: str = "lp"
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative distance to the LP upper bound (0 when the bound is 0)."""
        return (self.lp_bound - self.value) / self.lp_bound if self.lp_bound > 0 else 0.0

    @property
    def bound_ratio(self) -> float:
        """Objective over the LP upper bound (1 when the bound is 0)."""
        return self.value / self.lp_bound if self.lp_bound > 0 else 1.0

    def choices(self, instance: Instance) -> list[Choice]:
        """The financed applications, readable."""
        values = instance.option_values(self.objective)
        out = []
        for app in np.nonzero(self.chosen >= 0)[0].tolist():
            o = int(self.chosen[app])
            gp, g = int(instance.opt_guarantee_product[o]), int(instance.opt_guarantor[o])
            out.append(
                Choice(
                    application_id=instance.app_ids[app],
                    loan_product_id=instance.loan_product_ids[int(instance.opt_loan_product[o])],
                    lender_id=instance.lenders[int(instance.opt_lender[o])].id,
                    guarantee_product_id=instance.guarantee_product_ids[gp] if gp >= 0 else None,
                    guarantor_id=instance.guarantors[g].id if g >= 0 else None,
                    amount=int(instance.app_amount[app]),
                    guaranteed_exposure=int(instance.opt_exposure[o]) if g >= 0 else 0,
                    value=float(values[o]),
                )
            )
        return out


def solve(
    instance: Instance,
    objective: Objective = Objective.FINANCED_AMOUNT,
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    exact_max_options: int = exact.EXACT_MAX_OPTIONS,
    lp_max_apps: int = LP_MAX_APPS,
    sample_apps: int = SAMPLE_APPS,
) -> RunResult:
    """Choose at most one option per application, within every limit, maximising the objective."""
    started = time.perf_counter()
    deadline = started + time_limit_s
    seconds: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        seconds[name] = round(now - since, 3)
        return now

    values = instance.option_values(objective)
    res = build_resources(instance)
    reduced = reduce_instance(instance, res, values)
    t = lap("prepare", started)
    method = METHOD_FOR_DEGENERATE if objective is Objective.FINANCED_AMOUNT else METHOD_DEFAULT
    if instance.n_apps <= lp_max_apps:
        lp = solve_relaxation(instance, res, values, reduced.alive, reduced.binding_rows, method)
        bound_method = "lp"
    else:
        sample = min(sample_apps, instance.n_apps)
        lp = solve_sampled(instance, res, values, reduced.alive, sample, method)
        bound_method = "lagrangian_at_sampled_lp_prices"
    t = lap("lp", t)
    feasible = np.nonzero((reduced.blocked_alone < 0) & (values > 0))[0]
    baseline = greedy(instance, res, values, feasible)
    t = lap("greedy", t)
    alive = np.nonzero(reduced.alive)[0]
    alloc = heuristic.round_and_fill(instance, res, values, alive, lp)
    t = lap("round", t)
    heuristic.improve(alloc, lp.price, deadline)
    t = lap("improve", t)
    chosen = np.full(instance.n_apps, -1, dtype=np.int64)
    picked = np.nonzero(alloc.choice >= 0)[0]
    chosen[picked] = alive[alloc.choice[picked]]
    left = alloc.left
    proven = False
    if alive.shape[0] <= exact_max_options:
        found = exact.solve_exact(instance, res, values, alive, max(deadline - t, 1.0))
        if found is not None:
            candidate, optimal = found
            if _fits(res, candidate) and _value(values, candidate) >= _value(values, chosen) - 1e-9:
                chosen, proven = candidate, optimal
                left = _left(res, chosen)
        t = lap("exact", t)
    value = _value(values, chosen)
    if value < baseline.total - 1e-6 * max(abs(baseline.total), 1.0):
        # Never report worse than the baseline on the same instance: keep the baseline instead.
        chosen = np.full(instance.n_apps, -1, dtype=np.int64)
        picked = np.nonzero(baseline.choice >= 0)[0]
        chosen[picked] = feasible[baseline.choice[picked]]
        value, left = _value(values, chosen), baseline.left
    report = left_out(instance, res, values, reduced, chosen, left)
    lap("report", t)
    seconds["total"] = round(time.perf_counter() - started, 3)
    financed = chosen >= 0
    return RunResult(
        objective=objective,
        chosen=chosen,
        value=value,
        lp_bound=max(lp.bound, value),
        greedy_value=baseline.total,
        financed=int(financed.sum()),
        financed_amount=int(instance.app_amount[financed].sum()),
        left_out=report,
        proven_optimal=proven,
        bound_method=bound_method,
        seconds=seconds,
    )


def _value(values: np.ndarray, chosen: IntArray) -> float:
    return float(values[chosen[chosen >= 0]].sum())


def _left(res: Resources, chosen: IntArray) -> IntArray:
    left = res.cap.copy()
    opts = chosen[chosen >= 0]
    np.subtract.at(left, res.rid[opts].reshape(-1), res.use[opts].reshape(-1))
    return left


def _fits(res: Resources, chosen: IntArray) -> bool:
    return bool((_left(res, chosen)[:-1] >= 0).all())
