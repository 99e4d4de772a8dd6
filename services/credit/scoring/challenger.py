"""The challenger: gradient-boosted trees with calibrated probabilities (scikit-learn shape)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from services.credit.scoring.scorecard import binary_target

_EPS = 1e-9
# Scanned once: a limit through the controller costs microseconds, threadpool_limits() ms.
_threads = ThreadpoolController()


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class GradientBoostedPD(ClassifierMixin, BaseEstimator):
    """Histogram gradient boosting, calibrated (Platt sigmoid by default) over 3 folds.

    A row is explained one feature at a time: the change in log-odds when that feature is set
    to its typical training value (median, or most frequent category) with the others kept.

    Parameters
    ----------
    max_iter : int
        Boosting rounds.
    learning_rate : float
        Shrinkage of each round.
    max_leaf_nodes : int
        Leaves per tree.
    calibration : str
        "isotonic" or "sigmoid".
    categorical_features : tuple of int
        Columns holding category codes (below 255).
    """

    def __init__(
        self,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        calibration: str = "sigmoid",
        categorical_features: tuple[int, ...] = (),
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.calibration = calibration
        self.categorical_features = categorical_features

    def __sklearn_tags__(self) -> Any:
        """Missing values are welcome; PD is a two-class problem."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X: NDArray[np.float64], y: NDArray[Any]) -> GradientBoostedPD:
        """Fit the boosted trees and their calibration on X and labels y (two classes)."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=float)
        y = binary_target(self, y)
        mask = np.zeros(X.shape[1], dtype=bool)
        mask[list(self.categorical_features)] = True
        # Constant or all-missing columns carry nothing (and break histogram binning): unused.
        self.used_ = np.array(
            [np.unique(X[~np.isnan(X[:, j]), j]).size > 1 or (
                np.isnan(X[:, j]).any() and not np.isnan(X[:, j]).all()
            ) for j in range(X.shape[1])]
        )  # fmt: skip
        if not self.used_.any():
            raise ValueError("no column varies: nothing to learn from")
        base = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=40,
            l2_regularization=1.0,
            categorical_features=mask[self.used_] if mask[self.used_].any() else None,
            random_state=0,
        )
        self.model_ = CalibratedClassifierCV(base, method=self.calibration, cv=3)
        # One OpenMP thread: on a shared 2-core machine more threads spin against each other
        # (a 3,000-row fit took 42 s with the default, 0.6 s with one thread).
        with _threads.limit(limits=1, user_api="openmp"):
            self.model_.fit(X[:, self.used_], y)
        self.n_iter_ = max(c.estimator.n_iter_ for c in self.model_.calibrated_classifiers_)
        self.reference_ = np.empty(X.shape[1])
        for j in range(X.shape[1]):
            col = X[:, j][~np.isnan(X[:, j])]
            if not col.size:
                self.reference_[j] = np.nan
            elif mask[j]:
                values, counts = np.unique(col, return_counts=True)
                self.reference_[j] = values[np.argmax(counts)]
            else:
                self.reference_[j] = np.median(col)
        return self

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated probabilities of [no default, default] per row."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        with _threads.limit(limits=1, user_api="openmp"):
            return self.model_.predict_proba(X[:, self.used_])

    def predict(self, X: NDArray[np.float64]) -> NDArray[Any]:
        """The default class where the PD is at least one half, else the other class."""
        is_default = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[is_default.astype(int)]

    def log_odds_contributions(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds each feature adds to each row against its typical value (positive: adverse)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        n, p = X.shape
        # One stacked prediction: the rows as they are, then p copies with one feature reset.
        stacked = np.repeat(X[None, :, :], p + 1, axis=0)
        for j in range(p):
            if self.used_[j]:
                stacked[j + 1, :, j] = self.reference_[j]
        pd_all = self.predict_proba(stacked.reshape(-1, p))[:, 1].reshape(p + 1, n)
        logits = _logit(pd_all)
        return (logits[0][None, :] - logits[1:]).T
