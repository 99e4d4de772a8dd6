"""The PD estimators a registry can hold, by kind, and the explanation contract they share."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from services.credit.scoring.challenger import GradientBoostedPD
from services.credit.scoring.scorecard import Scorecard

CHAMPION_KIND = "scorecard"
CHALLENGER_KIND = "gbm"


class ExplainablePD(Protocol):
    """What serving needs of a model: PDs and per-feature log-odds contributions."""

    def fit(self, X: NDArray[np.float64], y: NDArray[np.int_]) -> Any:
        """Fit on features X (NaN = missing) and default labels y (1 = default)."""

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probabilities of [no default, default] per row."""

    def log_odds_contributions(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds of default each feature adds to each row (positive: adverse)."""


def make_estimator(kind: str, categorical_features: tuple[int, ...] = ()) -> ExplainablePD:
    """A new, unfitted estimator of a registry kind."""
    if kind == CHAMPION_KIND:
        return Scorecard(categorical_features=categorical_features)
    if kind == CHALLENGER_KIND:
        return GradientBoostedPD(categorical_features=categorical_features)
    raise ValueError(f"unknown model kind {kind!r}; one of {CHAMPION_KIND}, {CHALLENGER_KIND}")
