"""The LP relaxation (HiGHS through scipy): the upper bound, a fractional plan and row prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.reduce import BoolArray
from services.matching.allocation.resources import SLOTS, Resources

# Interior point (with crossover to a vertex) for the financed-amount LP: every option of an
# application is worth the same, and on that degenerate LP dual simplex ran for minutes where
# IPM took about 2 s (10k applications). With distinct values (expected surplus) dual simplex
# is the faster one (about 2 s against 11 s). Figures in docs/allocation.md.
METHOD_FOR_DEGENERATE = "highs-ipm"
METHOD_DEFAULT = "highs-ds"


@dataclass(frozen=True)
class Relaxation:
    """bound: LP optimum (CNY); x: per option (0 for options outside the LP); price: per row, per fen."""

    bound: float
    x: FloatArray
    price: FloatArray
    seconds: float


def solve_relaxation(
    instance: Instance,
    res: Resources,
    values: FloatArray,
    alive: BoolArray,
    rows: IntArray,
    time_limit_s: float | None = None,
    method: str = METHOD_DEFAULT,
) -> Relaxation:
    """Maximise value subject to every binding row and one option per application, 0 <= x <= 1."""
    import time

    started = time.perf_counter()
    opts = np.nonzero(alive)[0]
    n_var = opts.shape[0]
    x_full = np.zeros(instance.n_options)
    price = np.zeros(res.n_rows + 1)
    if n_var == 0:
        return Relaxation(0.0, x_full, price, time.perf_counter() - started)
    # Resource rows, each scaled by its headroom so every right-hand side is 1.
    row_of = np.full(res.n_rows + 1, -1, dtype=np.int64)
    row_of[rows] = np.arange(rows.shape[0])
    rid = res.rid[opts]
    mapped = row_of[rid]
    r_i, r_k = np.nonzero(mapped >= 0)
    r_rows = mapped[r_i, r_k]
    r_vals = res.use[opts][r_i, r_k] / res.cap[rid[r_i, r_k]].astype(np.float64)
    # One option per application: a row only for applications with two or more options.
    app = instance.opt_app[opts]
    counts = np.bincount(app, minlength=instance.n_apps)
    multi = counts[app] > 1
    gub_ids = np.cumsum(counts > 1) - 1
    g_vars = np.nonzero(multi)[0]
    g_rows = rows.shape[0] + gub_ids[app[g_vars]]
    n_rows = rows.shape[0] + int((counts > 1).sum())
    a_ub = sp.csr_matrix(
        (
            np.concatenate([r_vals, np.ones(g_vars.shape[0])]),
            (np.concatenate([r_rows, g_rows]), np.concatenate([r_i, g_vars])),
        ),
        shape=(n_rows, n_var),
    )
    scale = float(np.abs(values[opts]).max()) or 1.0
    options = {"presolve": True}
    if time_limit_s is not None:
        options["time_limit"] = max(time_limit_s, 0.1)  # type: ignore[assignment]
    out = linprog(
        -values[opts] / scale,
        A_ub=a_ub,
        b_ub=np.ones(n_rows),
        bounds=(0, 1),
        method=method,
        options=options,
    )
    if out.x is None:
        raise RuntimeError(f"LP relaxation failed: {out.message}")
    x_full[opts] = out.x
    marginals = -np.asarray(out.ineqlin.marginals)[: rows.shape[0]] * scale
    price[rows] = marginals / res.cap[rows].astype(np.float64)
    assert SLOTS == res.rid.shape[1]
    return Relaxation(float(-out.fun * scale), x_full, price, time.perf_counter() - started)
