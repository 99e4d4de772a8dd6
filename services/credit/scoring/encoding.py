"""Named raw values to the float matrix estimators read: numbers, category indexes, NaN."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def as_number(value: Any) -> float | None:
    """A finite float of a value, or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def encode(
    rows: list[dict[str, Any]], features: list[str], categories: dict[str, list[str]]
) -> np.ndarray:
    """Rows as a float matrix: numbers as numbers, categories as their index; else NaN
    (missing, unparseable, or a category unseen in training)."""
    lookups = {c: {v: i for i, v in enumerate(cats)} for c, cats in categories.items()}
    X = np.full((len(rows), len(features)), np.nan)
    for i, row in enumerate(rows):
        for j, name in enumerate(features):
            value = row.get(name)
            if value is None or value == "":
                continue
            if name in lookups:
                X[i, j] = lookups[name].get(str(value), np.nan)
            else:
                number = as_number(value)
                if number is not None:
                    X[i, j] = number
    return X
