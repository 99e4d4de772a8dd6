"""The LP relaxation (HiGHS through scipy): the upper bound, a fractional plan and row prices.

The reported bound is the Lagrangian bound at the LP's row prices: for any prices >= 0,
sum(price x headroom) + sum over applications of max(0, best option's value - price x draw)
is at least the integer optimum (and at least the LP optimum). At the LP's optimal duals it
equals the LP optimum, so solving the LP only approximately (interior point without crossover)
can make the bound looser, never optimistic.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeResult, OptimizeWarning, linprog

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.reduce import BoolArray, binding_rows
from services.matching.allocation.resources import Resources

# Interior point without crossover for the financed-amount LP: every option of an application
# is worth the same, and on that degenerate LP dual simplex ran for minutes where IPM takes
# about 2 s (10k applications); crossover to a vertex would add 2-3 s the bound does not need.
# With distinct values (expected surplus) dual simplex is the faster one. docs/allocation.md.
METHOD_FOR_DEGENERATE = "highs-ipm"
METHOD_DEFAULT = "highs-ds"
SMALL_LP = 5_000


def _linprog(cost: FloatArray, a_ub: sp.csr_matrix, n_rows: int, method: str) -> OptimizeResult:
    options: dict[str, object] = {"presolve": True}
    if method == "highs-ipm":
        options["run_crossover"] = "off"
    with warnings.catch_warnings():
        # run_crossover is passed to HiGHS verbatim; scipy warns that it does not know it.
        warnings.simplefilter("ignore", OptimizeWarning)
        return linprog(
            cost,
            A_ub=a_ub if n_rows else None,
            b_ub=np.ones(n_rows) if n_rows else None,
            bounds=(0, 1),
            method=method,
            options=options,
        )


@dataclass(frozen=True)
class Relaxation:
    """bound: valid upper bound (CNY); x: LP value per option; price: per row, CNY per fen."""

    bound: float
    lp_objective: float
    x: FloatArray
    price: FloatArray
    seconds: float


def lagrangian_bound(
    instance: Instance, res: Resources, values: FloatArray, alive: BoolArray, price: FloatArray
) -> float:
    """Upper bound on any feasible choice, from nonnegative row prices (see module docstring)."""
    opts = np.nonzero(alive)[0]
    reduced = values[opts] - (price[res.rid[opts]] * res.use[opts]).sum(axis=1)
    best = np.zeros(instance.n_apps)
    np.maximum.at(best, instance.opt_app[opts], reduced)
    return float((price[:-1] * res.cap[:-1]).sum() + best.sum())


def solve_relaxation(
    instance: Instance,
    res: Resources,
    values: FloatArray,
    alive: BoolArray,
    rows: IntArray,
    method: str = METHOD_DEFAULT,
) -> Relaxation:
    """Maximise value subject to the binding rows and one option per application, 0 <= x <= 1."""
    started = time.perf_counter()
    opts = np.nonzero(alive)[0]
    n_var = opts.shape[0]
    x_full = np.zeros(instance.n_options)
    price = np.zeros(res.n_rows + 1)
    if n_var == 0:
        return Relaxation(0.0, 0.0, x_full, price, time.perf_counter() - started)
    # Resource rows, each scaled by its headroom so every right-hand side is 1.
    row_of = np.full(res.n_rows + 1, -1, dtype=np.int64)
    row_of[rows] = np.arange(rows.shape[0])
    rid = res.rid[opts]
    mapped = row_of[rid]
    r_i, r_k = np.nonzero(mapped >= 0)
    r_vals = res.use[opts][r_i, r_k] / res.cap[rid[r_i, r_k]].astype(np.float64)
    # One option per application: a row only for applications with two or more options.
    app = instance.opt_app[opts]
    counts = np.bincount(app, minlength=instance.n_apps)
    g_vars = np.nonzero(counts[app] > 1)[0]
    g_rows = rows.shape[0] + (np.cumsum(counts > 1) - 1)[app[g_vars]]
    n_rows = rows.shape[0] + int((counts > 1).sum())
    a_ub = sp.csr_matrix(
        (
            np.concatenate([r_vals, np.ones(g_vars.shape[0])]),
            (np.concatenate([mapped[r_i, r_k], g_rows]), np.concatenate([r_i, g_vars])),
        ),
        shape=(n_rows, n_var),
    )
    scale = float(np.abs(values[opts]).max()) or 1.0
    if n_var < SMALL_LP:
        method = "highs"
    out = _linprog(-values[opts] / scale, a_ub, n_rows, method)
    if out.x is None or out.status != 0:
        # IPM without crossover can end with status "unknown" on tiny or odd LPs: redo it the
        # default way (vertex solution) rather than fail the run.
        out = _linprog(-values[opts] / scale, a_ub, n_rows, "highs")
    if out.x is None or out.status != 0:
        raise RuntimeError(f"LP relaxation failed: {out.message}")
    x_full[opts] = np.clip(out.x, 0.0, 1.0)
    if n_rows:
        marginals = -np.asarray(out.ineqlin.marginals)[: rows.shape[0]] * scale
        price[rows] = np.maximum(marginals, 0.0) / res.cap[rows].astype(np.float64)
    bound = lagrangian_bound(instance, res, values, alive, price)
    return Relaxation(bound, float(-out.fun * scale), x_full, price, time.perf_counter() - started)


def solve_sampled(
    instance: Instance,
    res: Resources,
    values: FloatArray,
    alive: BoolArray,
    sample_apps: int,
    method: str = METHOD_DEFAULT,
    seed: int = 0,
) -> Relaxation:
    """Row prices from the LP of a random sample, then the Lagrangian bound over every application.

    The sample sees the lender budgets and guarantor leverage scaled to its share of the
    applications; per-firm and per-group limits belong to single firms and keep their headroom.
    Prices of per-firm rows are then set to 0 for the whole instance, which keeps them valid.
    The bound is an upper bound on the LP bound itself; x is left at 0 (no fractional plan).
    """
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    in_sample = np.zeros(instance.n_apps, dtype=bool)
    in_sample[rng.choice(instance.n_apps, size=sample_apps, replace=False)] = True
    alive_sample = alive & in_sample[instance.opt_app]
    shared = np.concatenate([np.isin(res.kind, (0, 3)), [False]])
    cap = res.cap.copy()
    cap[shared] = (cap[shared] * (sample_apps / instance.n_apps)).astype(np.int64)
    scaled = replace(res, cap=cap)
    rows = binding_rows(instance, scaled, alive_sample)
    sampled = solve_relaxation(instance, scaled, values, alive_sample, rows, method=method)
    price = np.where(shared, sampled.price, 0.0)
    bound = lagrangian_bound(instance, res, values, alive, price)
    return Relaxation(
        bound, bound, np.zeros(instance.n_options), price, time.perf_counter() - started
    )
