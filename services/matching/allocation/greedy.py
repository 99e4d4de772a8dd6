"""The baseline: applications in arrival order, each taking its best offer that still fits.

This is what first-come-first-served matching does today: a product whose capacity is gone is
no longer offered, so each firm accepts the best offer left when it arrives.
"""

from __future__ import annotations

import numpy as np

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.resources import Resources
from services.matching.allocation.state import Allocation, Pool


def greedy(instance: Instance, res: Resources, values: FloatArray, options: IntArray) -> Allocation:
    """Arrival order; ties in value go to the option listed first (the better-ranked offer)."""
    pool = Pool(instance, res, values, options)
    alloc = Allocation(pool, res.cap)
    # A strictly decreasing tie-break keeps the earlier option among equal values.
    scale = float(np.abs(pool.value).max()) + 1.0 if pool.value.shape[0] else 1.0
    score = pool.value - np.arange(pool.value.shape[0]) * 1e-12 * scale
    for app in np.argsort(instance.app_arrival, kind="stable"):
        s, e = pool.span(int(app))
        if s < e:
            alloc.try_take(int(app), score)
    return alloc
