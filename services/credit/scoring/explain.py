"""Reason codes of a score: the up-to-four features that cost it the most points."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.credit.scoring.reasons import reason_for
from services.credit.scoring.scale import points_from_log_odds

MAX_REASONS = 4


def reasons_from_contributions(
    features: list[str], contributions: NDArray[np.float64]
) -> list[list[dict[str, Any]]]:
    """Per row, the adverse factors (positive log-odds contributions), worst first, at most four."""
    contributions = np.atleast_2d(np.asarray(contributions, dtype=float))
    k = min(MAX_REASONS, contributions.shape[1])
    # argpartition then a sort of the k picked: O(p) per row rather than a full sort.
    if k == 0:
        return [[] for _ in range(contributions.shape[0])]
    top = np.argpartition(-contributions, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(-contributions, top, axis=1).argsort(axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    # Worst first, so the factors worth at least a tenth of a point form a prefix of each row.
    points = np.round(points_from_log_odds(np.take_along_axis(contributions, top, axis=1)), 1)
    templates = [
        {"code": r.code, "message_en": r.en, "message_zh": r.zh}
        for r in (reason_for(f) for f in features)
    ]
    return [
        [{**templates[j], "points": p} for j, p in zip(js, ps, strict=True) if p <= -0.1]
        for js, ps in zip(top.tolist(), points.tolist(), strict=True)
    ]
