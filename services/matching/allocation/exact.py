"""Exact MILP (HiGHS branch and cut through scipy) for instances small enough to prove optimal."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.resources import Resources

# Above this many options the MILP is not tried: on the 10k instance it did not finish in 120 s.
EXACT_MAX_OPTIONS = 2_000


def solve_exact(
    instance: Instance, res: Resources, values: FloatArray, options: IntArray, time_limit_s: float
) -> tuple[IntArray, bool] | None:
    """Best choice per application (option index or -1) and whether it is proven optimal."""
    n_var = options.shape[0]
    if n_var == 0:
        return np.full(instance.n_apps, -1, dtype=np.int64), True
    rows = np.unique(res.rid[options])
    rows = rows[rows < res.n_rows]
    row_of = np.full(res.n_rows + 1, -1, dtype=np.int64)
    row_of[rows] = np.arange(rows.shape[0])
    mapped = row_of[res.rid[options]]
    r_i, r_k = np.nonzero(mapped >= 0)
    app = instance.opt_app[options]
    uniq_apps, app_row = np.unique(app, return_inverse=True)
    n_rows = rows.shape[0] + uniq_apps.shape[0]
    matrix = sp.csr_matrix(
        (
            np.concatenate([res.use[options][r_i, r_k].astype(np.float64), np.ones(n_var)]),
            (
                np.concatenate([mapped[r_i, r_k], rows.shape[0] + app_row.reshape(-1)]),
                np.concatenate([r_i, np.arange(n_var)]),
            ),
        ),
        shape=(n_rows, n_var),
    )
    upper = np.concatenate([res.cap[rows].astype(np.float64), np.ones(uniq_apps.shape[0])])
    out = milp(
        -values[options],
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.ones(n_var),
        bounds=Bounds(0, 1),
        options={"time_limit": max(time_limit_s, 0.1), "mip_rel_gap": 0.0},
    )
    if out.x is None:
        return None
    chosen = np.full(instance.n_apps, -1, dtype=np.int64)
    picked = np.nonzero(out.x > 0.5)[0]
    chosen[app[picked]] = options[picked]
    return chosen, bool(out.status == 0)
