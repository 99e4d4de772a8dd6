"""Holdout metrics of a PD model: AUC, KS, Brier score and a calibration table."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


def evaluate(y_true: NDArray[np.int_], pd_pred: NDArray[np.float64]) -> dict[str, Any]:
    """AUC, KS, Brier score, default rates and a 10-bin calibration table."""
    fpr, tpr, _ = roc_curve(y_true, pd_pred)
    observed, predicted = calibration_curve(y_true, pd_pred, n_bins=10, strategy="quantile")
    return {
        "auc": round(float(roc_auc_score(y_true, pd_pred)), 4),
        "ks": round(float(np.max(tpr - fpr)), 4),
        "brier": round(float(brier_score_loss(y_true, pd_pred)), 5),
        "default_rate": round(float(np.mean(y_true)), 4),
        "mean_pd": round(float(np.mean(pd_pred)), 4),
        "n": len(y_true),
        "calibration": [
            {"predicted": round(float(p), 4), "observed": round(float(o), 4)}
            for p, o in zip(predicted, observed, strict=True)
        ],
    }
