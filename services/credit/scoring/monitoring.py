"""Population stability of the score distribution: a training reference and the PSI against it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

PSI_BINS = 10
# Conventional reading of the PSI: under 0.1 stable, 0.1-0.25 a shift to watch, over 0.25 a
# shift that calls for a look at the model (Siddiqi, Credit Risk Scorecards, 2006).
PSI_WARN = 0.10
PSI_ALERT = 0.25
# Below this many scores a month's PSI is mostly sampling noise (about bins / n): not judged.
MIN_SCORES = 100
# A bin empty on one side would make the PSI infinite; this floor keeps it finite.
_FLOOR = 1e-4


def reference_distribution(scores: NDArray[Any]) -> dict[str, Any]:
    """Decile edges of training scores and the share of training scores in each bin."""
    scores = np.asarray(scores, dtype=float)
    inner = np.unique(np.quantile(scores, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    shares = bin_shares(scores, inner.tolist())
    return {"edges": [float(e) for e in inner], "shares": [round(float(s), 6) for s in shares]}


def bin_shares(
    scores: NDArray[Any], edges: list[float], counts: NDArray[Any] | None = None
) -> NDArray[np.float64]:
    """Share of scores in each bin cut at `edges` (len(edges) + 1 bins); `counts`, when
    given, says how many times each score occurred."""
    idx = np.searchsorted(np.array(edges), np.asarray(scores, dtype=float), side="right")
    weights = None if counts is None else np.asarray(counts, dtype=float)
    binned = np.bincount(idx, weights=weights, minlength=len(edges) + 1).astype(float)
    return binned / max(binned.sum(), 1.0)


def psi(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """Population stability index: sum over bins of (actual - expected) * ln(actual / expected)."""
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float, scores: int) -> str:
    """'stable', 'warning' or 'alert' for a PSI value; 'too_few' below MIN_SCORES scores."""
    if scores < MIN_SCORES:
        return "too_few"
    if value >= PSI_ALERT:
        return "alert"
    if value >= PSI_WARN:
        return "warning"
    return "stable"
