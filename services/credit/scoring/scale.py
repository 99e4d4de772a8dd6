"""Score scaling and grades: points to double the odds, a fixed anchor, documented bands."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

# A score of 600 means good:bad odds of 30:1; every 20 points double the odds.
ANCHOR_SCORE = 600
ANCHOR_ODDS = 30.0
POINTS_TO_DOUBLE_ODDS = 20.0
SCORE_MIN, SCORE_MAX = 300, 900
FACTOR = POINTS_TO_DOUBLE_ODDS / math.log(2)
OFFSET = ANCHOR_SCORE - FACTOR * math.log(ANCHOR_ODDS)
# Upper PD bound of each grade.
GRADES: tuple[tuple[str, float], ...] = (
    ("A", 0.01),
    ("B", 0.02),
    ("C", 0.04),
    ("D", 0.08),
    ("E", 0.16),
    ("F", 1.0),
)


def score_from_pd(pd_12m: float) -> int:
    """Scaled score of a PD, clipped to the documented range."""
    pd_12m = min(max(pd_12m, 1e-6), 1 - 1e-6)
    raw = OFFSET + FACTOR * math.log((1 - pd_12m) / pd_12m)
    return round(min(max(raw, SCORE_MIN), SCORE_MAX))


def grade_from_pd(pd_12m: float) -> str:
    """Letter grade of a PD."""
    for grade, upper in GRADES:
        if pd_12m < upper:
            return grade
    return GRADES[-1][0]


def points_from_log_odds(delta_log_odds_bad: Any) -> Any:
    """Score points a change in log-odds of default is worth (negative: costs points)."""
    return -FACTOR * delta_log_odds_bad


def scores_from_pd(pd_12m: NDArray[np.float64]) -> NDArray[np.int64]:
    """Scaled scores of many PDs at once (same rule as score_from_pd)."""
    p = np.clip(np.asarray(pd_12m, dtype=float), 1e-6, 1 - 1e-6)
    raw = OFFSET + FACTOR * np.log((1 - p) / p)
    return np.rint(np.clip(raw, SCORE_MIN, SCORE_MAX)).astype(np.int64)


def grades_from_pd(pd_12m: NDArray[np.float64]) -> NDArray[np.str_]:
    """Letter grades of many PDs at once (same bands as grade_from_pd)."""
    uppers = np.array([upper for _, upper in GRADES])
    letters = np.array([g for g, _ in GRADES])
    idx = np.searchsorted(uppers, np.asarray(pd_12m, dtype=float), side="right")
    return letters[np.minimum(idx, len(letters) - 1)]
