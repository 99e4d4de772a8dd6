"""PD estimators in the scikit-learn shape, each able to explain a single prediction."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted


class LogisticPD(ClassifierMixin, BaseEstimator):
    """Standardised logistic regression whose per-feature log-odds contributions explain a score.

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength.
    """

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, X: NDArray[np.float64], y: NDArray[np.int_]) -> LogisticPD:
        """Fit on features X (n, p) and default labels y (1 = default)."""
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.model_ = LogisticRegression(C=self.C, max_iter=1000)
        self.model_.fit((X - self.mean_) / self.scale_, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probabilities of [no default, default] per row."""
        check_is_fitted(self, "model_")
        X = np.asarray(X, dtype=float)
        return self.model_.predict_proba((X - self.mean_) / self.scale_)  # type: ignore[no-any-return]

    def contributions(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds of default each feature adds to one row, against the training average."""
        check_is_fitted(self, "model_")
        z = (np.asarray(x, dtype=float) - self.mean_) / self.scale_
        return self.model_.coef_[0] * z  # type: ignore[no-any-return]
