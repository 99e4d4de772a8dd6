"""From the LP to a feasible allocation: round, repair by construction, fill, improve locally.

Rounding takes applications in order of reduced value (value minus the LP price of the
capacity they use): the LP's integral choices first, its fractional ones next, then the rest.
Each step takes an option only if it fits, so the allocation never breaks a limit (repair by
construction). Local improvement then tries, for every application left out, to make room on
its blocked rows by moving one chosen application to another option, or by swapping it out
for one worth more, until no move helps or the time budget is spent.
"""

from __future__ import annotations

import time

import numpy as np

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.relaxation import Relaxation
from services.matching.allocation.resources import Resources
from services.matching.allocation.state import Allocation, Pool


def _reduced(pool: Pool, price: FloatArray) -> FloatArray:
    return pool.value - (price[pool.rid] * pool.use).sum(axis=1)


def round_and_fill(
    instance: Instance, res: Resources, values: FloatArray, options: IntArray, lp: Relaxation
) -> Allocation:
    """Applications by best reduced value, each taking its fitting option of best reduced value.

    The reduced value (value minus the LP price of the capacity drawn) is what the LP itself
    ranks by: positive for the applications the LP takes whole, zero for its fractional ones,
    negative for those it leaves out. Ordering by it rounds the LP's choices first and fills
    the remaining headroom next; ties go to the larger LP weight.
    """
    pool = Pool(instance, res, values, options)
    alloc = Allocation(pool, res.cap)
    reduced = _reduced(pool, lp.price)
    x = lp.x[options]
    scale = float(np.abs(pool.value).max()) if x.shape[0] else 0.0
    score = reduced + x * 1e-9 * (scale + 1.0)
    app_best = np.full(instance.n_apps, -np.inf)
    np.maximum.at(app_best, pool.app, score)
    has = np.diff(pool.starts) > 0
    for app in np.argsort(-app_best, kind="stable"):
        if has[app]:
            alloc.try_take(int(app), score)
    return alloc


def improve(
    alloc: Allocation,
    price: FloatArray,
    deadline: float,
    candidates: int = 8,
    passes: int = 5,
    min_gain: float = 1e-5,
) -> int:
    """Place left-out applications by moving or evicting one chosen one; returns the moves made.

    For a left-out application whose best option is short on exactly one row, each of up to
    `candidates` users of that row (cheapest first) is taken off, the option placed, and the
    user re-placed on its best option that still fits; the change is kept only if the total
    rises. Passes repeat until one gains less than min_gain of the total, or the deadline.
    """
    pool = alloc.pool
    reduced = _reduced(pool, price)
    users = _row_users(alloc)
    has = np.diff(pool.starts) > 0
    best_value = np.full(pool.n_apps, -np.inf)
    np.maximum.at(best_value, pool.app, pool.value)
    moves = 0
    for _ in range(passes):
        free = np.nonzero((alloc.choice < 0) & has)[0]
        free = free[np.argsort(-best_value[free], kind="stable")]
        start_total = alloc.total
        holders: dict[int, list[tuple[float, int, int, int]]] = {}
        for app in free.tolist():
            if time.perf_counter() > deadline:
                return moves
            if alloc.choice[app] < 0 and _insert(alloc, app, users, holders, reduced, candidates):
                moves += 1
        if alloc.total - start_total <= min_gain * abs(start_total):
            break
    return moves


def _row_users(alloc: Allocation) -> dict[int, set[int]]:
    pool = alloc.pool
    users: dict[int, set[int]] = {}
    sentinel = alloc.left.shape[0] - 1
    for app in np.nonzero(alloc.choice >= 0)[0].tolist():
        for row in pool.rid[alloc.choice[app]].tolist():
            if row != sentinel:
                users.setdefault(row, set()).add(app)
    return users


def _take(alloc: Allocation, users: dict[int, set[int]], app: int, k: int) -> None:
    alloc.take(app, k)
    for row in alloc.pool.rid[k].tolist():
        users.setdefault(row, set()).add(app)


def _drop(alloc: Allocation, users: dict[int, set[int]], app: int) -> int:
    k = int(alloc.choice[app])
    alloc.drop(app)
    for row in alloc.pool.rid[k].tolist():
        users.setdefault(row, set()).discard(app)
    return k


def _holders(
    alloc: Allocation, users: dict[int, set[int]], row: int
) -> list[tuple[float, int, int, int]]:
    """(value, application, option, draw on the row) of the row's users, cheapest first."""
    pool = alloc.pool
    out = []
    for u in users.get(row, ()):
        k = int(alloc.choice[u])
        draw = int(pool.use[k][pool.rid[k] == row].sum())
        out.append((float(pool.value[k]), u, k, draw))
    out.sort()
    return out


def _insert(
    alloc: Allocation,
    app: int,
    users: dict[int, set[int]],
    holders: dict[int, list[tuple[float, int, int, int]]],
    reduced: FloatArray,
    limit: int,
) -> bool:
    pool = alloc.pool
    if alloc.try_take(app, reduced):
        for row in pool.rid[alloc.choice[app]].tolist():
            users.setdefault(row, set()).add(app)
        return True
    s, e = pool.span(app)
    short = alloc.left[pool.rid[s:e]] < pool.use[s:e]
    single = np.nonzero(short.sum(axis=1) == 1)[0]
    if single.shape[0] == 0:
        return False
    k = s + int(single[np.argmax(pool.value[s + single])])
    slot = int(np.argmax(short[k - s]))
    row = int(pool.rid[k, slot])
    need = int(pool.use[k, slot]) - int(alloc.left[row])
    if row not in holders:
        # Built once per pass; entries whose choice changed since are skipped below.
        holders[row] = _holders(alloc, users, row)
    tried = 0
    for _, other, current, draw in holders[row]:
        if tried >= limit:
            break
        if draw < need or alloc.choice[other] != current:
            continue
        tried += 1
        before = alloc.total
        old = _drop(alloc, users, other)
        if not alloc.fits(k):
            _take(alloc, users, other, old)
            continue
        _take(alloc, users, app, k)
        mask = alloc.fitting(other)
        if mask.any():
            os_, _ = pool.span(other)
            j = os_ + int(np.argmax(np.where(mask, pool.value[os_ : os_ + mask.shape[0]], -np.inf)))
            _take(alloc, users, other, j)
        if alloc.total > before + 1e-9 * max(abs(before), 1.0):
            return True
        # No gain: undo both changes.
        if alloc.choice[other] >= 0:
            _drop(alloc, users, other)
        _drop(alloc, users, app)
        _take(alloc, users, other, old)
    return False
