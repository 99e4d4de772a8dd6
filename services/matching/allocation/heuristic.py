"""From the LP to a feasible allocation: round, repair by construction, fill, improve locally.

Rounding takes the LP's integral choices first, then its fractional ones by LP weight, then
every other application by reduced value (value minus the LP price of the capacity it uses).
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
    return pool.value - (price[pool.rid] * pool.use).sum(axis=1)  # type: ignore[no-any-return]


def round_and_fill(
    instance: Instance, res: Resources, values: FloatArray, options: IntArray, lp: Relaxation
) -> Allocation:
    """Integral LP choices, then fractional ones, then the rest by reduced value; only what fits."""
    pool = Pool(instance, res, values, options)
    alloc = Allocation(pool, res.cap)
    reduced = _reduced(pool, lp.price)
    x = lp.x[options]
    # Prefer the LP's option; among the others, the one that uses the cheapest capacity.
    score = x * (np.abs(reduced).max() + np.abs(pool.value).max() + 1.0) + reduced
    n = instance.n_apps
    app_x = np.zeros(n)
    np.maximum.at(app_x, pool.app, x)
    app_red = np.full(n, -np.inf)
    np.maximum.at(app_red, pool.app, reduced)
    has = np.diff(pool.starts) > 0
    order = np.lexsort((-app_red, -app_x))
    for app in order:
        if has[app]:
            alloc.try_take(int(app), score)
    return alloc


def improve(alloc: Allocation, price: FloatArray, deadline: float) -> int:
    """Insert left-out applications by moving or evicting chosen ones; returns moves made."""
    pool = alloc.pool
    reduced = _reduced(pool, price)
    moves = 0
    # Who draws on each row: rebuilt lazily per pass (chosen sets change slowly).
    changed = True
    while changed and time.perf_counter() < deadline:
        changed = False
        users = _row_users(alloc)
        free = [a for a in range(pool.n_apps) if alloc.choice[a] < 0 and pool.starts[a + 1] > pool.starts[a]]
        free.sort(key=lambda a: -float(pool.value[pool.starts[a] : pool.starts[a + 1]].max()))
        for app in free:
            if time.perf_counter() > deadline:
                break
            if alloc.choice[app] >= 0:
                continue
            if alloc.try_take(app, reduced) or _make_room(alloc, app, users, reduced):
                moves += 1
                changed = True
    return moves


def _row_users(alloc: Allocation) -> dict[int, list[int]]:
    pool = alloc.pool
    users: dict[int, list[int]] = {}
    chosen = np.nonzero(alloc.choice >= 0)[0]
    sentinel = alloc.left.shape[0] - 1
    for app in chosen:
        for row in pool.rid[alloc.choice[app]]:
            if row != sentinel:
                users.setdefault(int(row), []).append(int(app))
    return users


def _make_room(alloc: Allocation, app: int, users: dict[int, list[int]], reduced: FloatArray) -> bool:
    """For the app's best options: free its one blocked row by moving or evicting one user."""
    pool = alloc.pool
    s, e = pool.span(app)
    for k in sorted(range(s, e), key=lambda k: -reduced[k])[:3]:
        short = alloc.left[pool.rid[k]] < pool.use[k]
        blocked = np.unique(pool.rid[k][short])
        if blocked.shape[0] != 1:
            continue
        row = int(blocked[0])
        need = int(pool.use[k][short][0]) - int(alloc.left[row])
        candidates = [u for u in users.get(row, []) if alloc.choice[u] >= 0]
        # Move: a user switches to another option off this row, value kept or raised.
        for other in candidates:
            cur = int(alloc.choice[other])
            if int(pool.use[cur][pool.rid[cur] == row].sum()) < need:
                continue
            alloc.drop(other)
            os_, oe = pool.span(other)
            mask = alloc.fitting(other)
            alt = [j for j in range(os_, oe) if mask[j - os_] and row not in pool.rid[j]
                   and pool.value[j] >= pool.value[cur] - 1e-9]
            if alt and _fits_after(alloc, alt, k):
                j = max(alt, key=lambda j: reduced[j])
                alloc.take(other, j)
                if alloc.fits(k):
                    alloc.take(app, k)
                    _note(users, alloc, app, other)
                    return True
                alloc.drop(other)
            alloc.take(other, cur)
        # Swap: evict the cheapest user whose release makes room, if the app is worth more.
        best_out = None
        for other in candidates:
            cur = int(alloc.choice[other])
            if pool.value[cur] >= pool.value[k]:
                continue
            if int(pool.use[cur][pool.rid[cur] == row].sum()) < need:
                continue
            if best_out is None or pool.value[cur] < pool.value[int(alloc.choice[best_out])]:
                best_out = other
        if best_out is not None:
            cur = int(alloc.choice[best_out])
            alloc.drop(best_out)
            if alloc.fits(k):
                alloc.take(app, k)
                _note(users, alloc, app, best_out)
                return True
            alloc.take(best_out, cur)
    return False


def _fits_after(alloc: Allocation, alt: list[int], k: int) -> bool:
    return True


def _note(users: dict[int, list[int]], alloc: Allocation, app: int, other: int) -> None:
    pool = alloc.pool
    for a in (app, other):
        if alloc.choice[a] >= 0:
            for row in pool.rid[alloc.choice[a]]:
                users.setdefault(int(row), []).append(a)
