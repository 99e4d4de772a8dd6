"""A partial allocation: headroom left on every row and the option chosen per application."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.resources import Resources


class Pool:
    """The options in play (a subset of the instance's), grouped by application."""

    def __init__(self, instance: Instance, res: Resources, values: FloatArray, options: IntArray):
        self.options = options
        self.app = instance.opt_app[options]
        self.rid = res.rid[options]
        self.use = res.use[options]
        self.value = values[options]
        counts = np.bincount(self.app, minlength=instance.n_apps)
        self.starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.n_apps = instance.n_apps

    def span(self, app: int) -> tuple[int, int]:
        """Pool positions of the application's options."""
        return int(self.starts[app]), int(self.starts[app + 1])


class Allocation:
    """Headroom left and choice per application (pool position or -1); never overdraws a row."""

    def __init__(self, pool: Pool, cap: IntArray):
        self.pool = pool
        self.left = cap.copy()
        self.choice = np.full(pool.n_apps, -1, dtype=np.int64)
        self.total = 0.0

    def fitting(self, app: int) -> NDArray[np.bool_]:
        """Which of the application's options fit in the headroom left."""
        s, e = self.pool.span(app)
        return np.all(self.left[self.pool.rid[s:e]] >= self.pool.use[s:e], axis=1)

    def fits(self, k: int) -> bool:
        """Whether pool option k fits now."""
        return bool(np.all(self.left[self.pool.rid[k]] >= self.pool.use[k]))

    def take(self, app: int, k: int) -> None:
        """Choose pool option k for the application (it must fit and the application be free)."""
        np.subtract.at(self.left, self.pool.rid[k], self.pool.use[k])
        self.choice[app] = k
        self.total += float(self.pool.value[k])

    def drop(self, app: int) -> None:
        """Release the application's option."""
        k = int(self.choice[app])
        np.add.at(self.left, self.pool.rid[k], self.pool.use[k])
        self.choice[app] = -1
        self.total -= float(self.pool.value[k])

    def try_take(self, app: int, score: FloatArray) -> bool:
        """Take the application's fitting option with the highest score, if any fits."""
        mask = self.fitting(app)
        if not mask.any():
            return False
        s, _ = self.pool.span(app)
        best = int(np.argmax(np.where(mask, score[s : s + mask.shape[0]], -np.inf)))
        self.take(app, s + best)
        return True
