"""The champion: a WoE-binned logistic scorecard with points per attribute (scikit-learn shape)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from services.credit.scoring.binning import WoEBinner
from services.credit.scoring.scale import FACTOR, OFFSET


class Scorecard(ClassifierMixin, BaseEstimator):
    """Logistic regression on weight-of-evidence bins; every bin of every feature earns points.

    The score of a row is the sum of its attributes' points and equals
    ``OFFSET + FACTOR * ln(odds of repaying)`` of the model's PD (services/credit/scoring/scale.py:
    20 points double the odds).

    Parameters
    ----------
    max_bins : int
        Most bins per numeric feature.
    min_bin_share : float
        Least share of training rows per bin.
    C : float
        Inverse L2 regularisation strength of the logistic regression on WoE.
    categorical_features : tuple of int
        Columns holding category codes.
    """

    def __init__(
        self,
        max_bins: int = 8,
        min_bin_share: float = 0.03,
        C: float = 1.0,
        categorical_features: tuple[int, ...] = (),
    ) -> None:
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.C = C
        self.categorical_features = categorical_features

    def __sklearn_tags__(self) -> Any:
        """Missing values are welcome (their own bin); PD is a two-class problem."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X: NDArray[np.float64], y: NDArray[Any]) -> Scorecard:
        """Bin, fit the regression on WoE, and derive the points table (y: two classes, the
        second in sorted order meaning default)."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=float)
        y = binary_target(self, y)
        self.binner_ = WoEBinner(self.max_bins, self.min_bin_share, self.categorical_features)
        woe = self.binner_.fit(X, y).transform(X)
        # Features without information (constant or all missing) take no part in the score.
        self.selected_ = np.array([b.kind != "dropped" for b in self.binner_.bins_])
        self.model_ = LogisticRegression(C=self.C, max_iter=1000)
        coef = np.zeros(X.shape[1])
        intercept = float(np.log((y.mean() + 1e-9) / (1 - y.mean() + 1e-9)))
        # A feature whose weight comes out against its own evidence (collinearity) would give
        # reasons that contradict its bins: drop the worst such feature and refit until none.
        while self.selected_.any():
            self.model_.fit(woe[:, self.selected_], y)
            fitted = self.model_.coef_[0]
            if (fitted > 0).all():
                coef = np.zeros(X.shape[1])
                coef[self.selected_] = fitted
                intercept = float(self.model_.intercept_[0])
                break
            worst = np.flatnonzero(self.selected_)[int(np.argmin(fitted))]
            self.selected_[worst] = False
        self.coef_ = coef
        self.intercept_ = intercept
        # The reference a reason is measured against: the training average of each term.
        self.mean_terms_ = (woe * coef).mean(axis=0)
        return self

    def _check(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        check_is_fitted(self, "coef_")
        return validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)

    def log_odds(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds of default of each row."""
        X = self._check(X)
        return self.intercept_ + self.binner_.transform(X) @ self.coef_

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probabilities of [no default, default] per row."""
        pd_ = 1 / (1 + np.exp(-self.log_odds(X)))
        return np.column_stack([1 - pd_, pd_])

    def predict(self, X: NDArray[np.float64]) -> NDArray[Any]:
        """The default class where the PD is at least one half, else the other class."""
        is_default = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[is_default.astype(int)]

    def log_odds_contributions(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds of default each feature adds to each row against the training average."""
        X = self._check(X)
        return self.binner_.transform(X) * self.coef_ - self.mean_terms_

    def points(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Points each feature earns on each row; a row's score is the sum of its points."""
        X = self._check(X)
        n_selected = max(int(self.selected_.sum()), 1)
        base = (OFFSET - FACTOR * self.intercept_) / n_selected
        terms = self.binner_.transform(X) * self.coef_
        return np.where(self.selected_, base - FACTOR * terms, 0.0)

    def points_table(self, feature_names: list[str]) -> list[dict[str, Any]]:
        """Every attribute (feature bin) with its WoE, training rows, default rate and points."""
        check_is_fitted(self, "coef_")
        n_selected = max(int(self.selected_.sum()), 1)
        base = (OFFSET - FACTOR * self.intercept_) / n_selected
        rows: list[dict[str, Any]] = []
        for j, (name, b) in enumerate(zip(feature_names, self.binner_.bins_, strict=True)):
            if not self.selected_[j]:
                rows.append({"feature": name, "bin": "all", "points": 0.0, "dropped": True})
                continue
            attributes = list(zip(b.labels(), b.woe, b.counts, b.bads, strict=True))
            if b.missing_count:
                attributes.append(("missing", b.missing_woe, b.missing_count, b.missing_bads))
            for label, woe, count, bads in attributes:
                rows.append(
                    {
                        "feature": name,
                        "bin": label,
                        "woe": round(woe, 4),
                        "rows": count,
                        "default_rate": round(bads / count, 4) if count else None,
                        "points": round(base - FACTOR * self.coef_[j] * woe, 2),
                    }
                )
        return rows


def binary_target(estimator: Any, y: NDArray[Any]) -> NDArray[np.int_]:
    """Set `classes_` from y (exactly two classes) and return y as 0/1 (1: the second class)."""
    check_classification_targets(y)
    estimator.classes_ = np.unique(y)
    n = len(estimator.classes_)
    if n > 2:
        raise ValueError(
            f"Only binary classification is supported (default or not); got {n} classes"
        )
    if n < 2:
        raise ValueError("a PD model needs both defaults and repayments; got 1 class")
    return (y == estimator.classes_[1]).astype(int)
