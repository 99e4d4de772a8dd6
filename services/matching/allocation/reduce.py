"""Shrink an instance before solving, without changing its optimum or its LP bound.

Three exact reductions: an option that breaks a limit on its own can never be chosen; under
expected surplus an option worth nothing never helps; an option is dominated when another
option of the same application and lender is worth at least as much and draws no more on the
guarantee side (no guarantee, or the same guarantor with less exposure). A row no selection
can fill (the largest draw of each application summed is within headroom) is left out of the LP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.resources import SLOTS, Resources

BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Reduced:
    """alive: options the optimiser considers; blocked_alone: first slot an option breaks alone."""

    alive: BoolArray
    blocked_alone: IntArray
    binding_rows: IntArray


def _blocked_alone(res: Resources) -> IntArray:
    over = res.use > res.cap[res.rid]
    first = np.argmax(over, axis=1)
    return np.where(over.any(axis=1), first, -1).astype(np.int64)


def _dominated(instance: Instance, values: FloatArray, candidates: BoolArray) -> BoolArray:
    """Options beaten by a sibling: same lender, at least the value, no more guarantee draw."""
    idx = np.nonzero(candidates)[0]
    app, lender = instance.opt_app[idx], instance.opt_lender[idx]
    guarantor, exposure = instance.opt_guarantor[idx], instance.opt_exposure[idx]
    dominated = np.zeros(instance.n_options, dtype=bool)
    if idx.shape[0] == 0:
        return dominated
    n_l = len(instance.lenders) + 1
    pair = app * n_l + lender
    # Best unguaranteed value per (application, lender): it beats every guaranteed sibling below it.
    plain = guarantor < 0
    uniq, inv = np.unique(pair, return_inverse=True)
    best_plain = np.full(uniq.shape[0], -np.inf)
    np.maximum.at(best_plain, inv[plain], values[idx][plain])
    beaten = ~plain & (values[idx] <= best_plain[inv])
    # Within (application, lender, guarantor-or-none), keep the Pareto front of value vs exposure.
    n_g = len(instance.guarantors) + 1
    group = pair * n_g + (guarantor + 1)
    order = np.lexsort((exposure, -values[idx], group))
    g_sorted, e_sorted = group[order], exposure[order].astype(np.float64)
    big = float(e_sorted.max()) + 1.0 if e_sorted.shape[0] else 1.0
    _, g_rank = np.unique(g_sorted, return_inverse=True)
    running = np.minimum.accumulate(e_sorted - g_rank * big) + g_rank * big
    first = np.concatenate(([True], g_sorted[1:] != g_sorted[:-1]))
    previous_min = np.concatenate(([np.inf], running[:-1]))
    front_beaten = ~first & (previous_min <= e_sorted)
    beaten_sorted = np.zeros(idx.shape[0], dtype=bool)
    beaten_sorted[order] = front_beaten
    dominated[idx] = beaten | beaten_sorted
    return dominated


def binding_rows(instance: Instance, res: Resources, alive: BoolArray) -> IntArray:
    """Rows that some selection of alive options could overfill (the others need no LP row)."""
    opts = np.nonzero(alive)[0]
    rid = res.rid[opts].reshape(-1)
    use = res.use[opts].reshape(-1)
    app = np.repeat(instance.opt_app[opts], SLOTS)
    real = rid < res.n_rows
    rid, use, app = rid[real], use[real], app[real]
    if rid.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    key = rid * np.int64(instance.n_apps) + app
    order = np.argsort(key, kind="stable")
    key, use, rid = key[order], use[order], rid[order]
    starts = np.concatenate(([0], np.nonzero(key[1:] != key[:-1])[0] + 1))
    max_use = np.maximum.reduceat(use, starts)
    demand = np.bincount(rid[starts], weights=max_use.astype(np.float64), minlength=res.n_rows)
    return np.nonzero(demand > res.cap[: res.n_rows])[0].astype(np.int64)


def reduce_instance(instance: Instance, res: Resources, values: FloatArray) -> Reduced:
    """Options worth considering and the rows that can bind."""
    blocked = _blocked_alone(res)
    candidates = (blocked < 0) & (values > 0)
    alive = candidates & ~_dominated(instance, values, candidates)
    return Reduced(
        alive=alive, blocked_alone=blocked, binding_rows=binding_rows(instance, res, alive)
    )
