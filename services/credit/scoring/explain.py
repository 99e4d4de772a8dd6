"""Reason codes of a score: the up-to-four features that cost it the most points."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from services.credit.scoring.reasons import reason_for
from services.credit.scoring.scale import points_from_log_odds

MAX_REASONS = 4


def _top_adverse(contributions: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Per row, the indices of the (at most four) largest contributions, worst first, and the
    points each costs (rounded to a tenth)."""
    k = min(MAX_REASONS, contributions.shape[1])
    # argpartition then a sort of the k picked: O(p) per row rather than a full sort.
    top = np.argpartition(-contributions, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(-contributions, top, axis=1).argsort(axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    # Worst first, so the factors worth at least a tenth of a point form a prefix of each row.
    points = np.round(points_from_log_odds(np.take_along_axis(contributions, top, axis=1)), 1)
    return top, points


def _templates(features: list[str]) -> list[dict[str, Any]]:
    return [
        {"code": r.code, "message_en": r.en, "message_zh": r.zh}
        for r in (reason_for(f) for f in features)
    ]


def reasons_from_contributions(
    features: list[str], contributions: NDArray[np.float64]
) -> list[list[dict[str, Any]]]:
    """Per row, the adverse factors (positive log-odds contributions), worst first, at most four."""
    contributions = np.atleast_2d(np.asarray(contributions, dtype=float))
    if min(MAX_REASONS, contributions.shape[1]) == 0:
        return [[] for _ in range(contributions.shape[0])]
    top, points = _top_adverse(contributions)
    templates = _templates(features)
    return [
        [{**templates[j], "points": p} for j, p in zip(js, ps, strict=True) if p <= -0.1]
        for js, ps in zip(top.tolist(), points.tolist(), strict=True)
    ]


def reasons_json_from_contributions(
    features: list[str], contributions: NDArray[np.float64]
) -> list[str]:
    """reasons_from_contributions of every row as orjson text, byte for byte.

    Rows with the same factors and points share one text: a scorecard's contributions take a
    few values per feature (one per bin), so a chunk of firms has far fewer distinct lists
    than rows, and each is built and serialised once.
    """
    contributions = np.atleast_2d(np.asarray(contributions, dtype=float))
    n = contributions.shape[0]
    if min(MAX_REASONS, contributions.shape[1]) == 0 or n == 0:
        return ["[]"] * n
    top, points = _top_adverse(contributions)
    shown = points <= -0.1
    # Factors not shown do not tell lists apart: blank them before looking for repeats.
    key = np.concatenate([np.where(shown, top, -1), np.where(shown, points, 0.0)], axis=1)
    # Rows compared as raw bytes: one sort key each (blanked, so equal bytes <=> equal lists).
    raw = key.view(np.dtype((np.void, key.itemsize * key.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    distinct = key[first]
    k = top.shape[1]
    templates = _templates(features)
    texts = [
        orjson.dumps(
            [
                {**templates[int(j)], "points": p}
                for j, p in zip(row[:k], row[k:], strict=True)
                if j >= 0
            ]
        ).decode()
        for row in distinct.tolist()
    ]
    return [texts[i] for i in inverse.reshape(-1).tolist()]
