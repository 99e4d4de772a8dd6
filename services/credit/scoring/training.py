"""Training: split, fit champion and challenger kinds, evaluate on a holdout, register."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split
from sqlalchemy.engine import Engine

from services.credit.features import FEATURE_NAMES, MonthPanel, feature_matrix
from services.credit.generator import GeneratorParams, default_end_month, simulate
from services.credit.models import ModelVersion
from services.credit.scoring import registry
from services.credit.scoring.estimators import CHALLENGER_KIND, CHAMPION_KIND, make_estimator
from services.credit.scoring.evaluation import evaluate
from services.credit.scoring.monitoring import reference_distribution
from services.credit.scoring.scale import scores_from_pd
from shared.errors import Unprocessable, field_error

# Fewest defaults and repayments a training set needs for a holdout to mean anything.
MIN_CLASS_ROWS = 10
HOLDOUT_SHARE = 0.3
BOOTSTRAP_FIRMS = 3_000
BOOTSTRAP_SEED = 20261129
# Bootstrap merchants are smaller than the generator's default, like the demo's shops.
BOOTSTRAP_PARAMS = GeneratorParams(median_monthly_sales=9_000.0)


class TrainingDataError(Unprocessable):
    """The training data cannot give a model (too few rows of a class, no usable column)."""

    code = "training-data"


@dataclass
class TrainingSet:
    """Rows to learn from: a feature matrix (NaN = missing), labels, names and categories."""

    X: NDArray[np.float64]
    y: NDArray[np.int_]
    features: list[str]
    window: dict[str, Any]
    categories: dict[str, list[str]] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse data that cannot be split into a training and a holdout set of both classes."""
        bads = int(self.y.sum())
        goods = len(self.y) - bads
        if bads < MIN_CLASS_ROWS or goods < MIN_CLASS_ROWS:
            raise TrainingDataError(
                f"{len(self.y)} labelled rows with {bads} defaults and {goods} repayments; "
                f"at least {MIN_CLASS_ROWS} of each are needed",
                errors=[field_error(("label",), "too few rows of one outcome")],
            )


@dataclass
class FitResult:
    """One fitted kind before registration: estimator, holdout metrics and holdout arrays."""

    kind: str
    estimator: Any
    metrics: dict[str, Any]
    holdout: dict[str, Any]


def fit_kinds(
    data: TrainingSet, kinds: tuple[str, ...] = (CHAMPION_KIND, CHALLENGER_KIND), seed: int = 0
) -> list[FitResult]:
    """Fit each kind on the same training split and evaluate it on the same holdout."""
    data.check()
    idx = np.arange(len(data.y))
    train_idx, test_idx = train_test_split(
        idx, test_size=HOLDOUT_SHARE, random_state=seed, stratify=data.y
    )
    cat_idx = tuple(j for j, f in enumerate(data.features) if f in data.categories)
    results = []
    for kind in kinds:
        estimator = make_estimator(kind, cat_idx)
        estimator.fit(data.X[train_idx], data.y[train_idx])
        pd_test = estimator.predict_proba(data.X[test_idx])[:, 1]
        pd_train = estimator.predict_proba(data.X[train_idx])[:, 1]
        metrics = evaluate(data.y[test_idx], pd_test)
        metrics["n_train"] = len(train_idx)
        metrics["psi_reference"] = reference_distribution(scores_from_pd(pd_train))
        results.append(
            FitResult(
                kind=kind,
                estimator=estimator,
                metrics=metrics,
                holdout={"y": data.y[test_idx].astype(np.int8), "pd": pd_test.astype(float)},
            )
        )
    return results


def register_fits(
    engine: Engine,
    model_dir: Path,
    data: TrainingSet,
    fits: list[FitResult],
    champion_kind: str | None = None,
) -> list[ModelVersion]:
    """Record fitted models as registry versions; `champion_kind` becomes champion."""
    return [
        registry.register(
            engine,
            model_dir,
            kind=fit.kind,
            estimator=fit.estimator,
            features=data.features,
            training_window=data.window,
            metrics=fit.metrics,
            champion=fit.kind == champion_kind,
            categories=data.categories,
            holdout=fit.holdout,
        )
        for fit in fits
    ]


def generated_training_set(
    n_firms: int, seed: int, end_month: str, params: GeneratorParams | None = None
) -> TrainingSet:
    """Generated merchants with features as of `end_month` and their 12-month default label."""
    panel = MonthPanel.zeros(n_firms)
    y = np.zeros(n_firms, dtype=np.int64)
    for i, firm in enumerate(simulate(n_firms, seed=seed, end_month=end_month, params=params)):
        offset = 24 - len(firm.months)
        for fig in firm.month_figures():
            t = firm.months.index(fig.month) + offset
            if t < 0:
                continue
            panel.sales[i, t] = fig.sales
            panel.refunds[i, t] = fig.refunds
            panel.chargebacks[i, t] = fig.chargebacks
            panel.distinct_buyers[i, t] = fig.distinct_buyers
            panel.repeat_buyers[i, t] = fig.repeat_buyers
            panel.top_buyer_sales[i, t] = fig.top_buyer_sales
            panel.active_days[i, t] = fig.active_days
        y[i] = int(firm.defaulted_12m)
    return TrainingSet(
        X=feature_matrix(panel),
        y=y,
        features=list(FEATURE_NAMES),
        window={
            "source": "generator",
            "seed": seed,
            "firms": n_firms,
            "as_of_month": end_month,
            "label": "default within 12 months",
        },
    )


def train_bootstrap(
    engine: Engine, model_dir: Path, n_firms: int = BOOTSTRAP_FIRMS
) -> ModelVersion:
    """Train the first champion (scorecard) and a challenger on generated histories.

    Deterministic inputs give deterministic fits, so a fit made earlier on this machine for the
    same month is reused (a few seconds the first time, instant after).
    """
    end_month = default_end_month()
    key = f"v{registry.ARTIFACT_FORMAT}-{end_month}-{BOOTSTRAP_SEED}-{n_firms}"
    cache = model_dir / f"bootstrap-{key}.joblib"
    if cache.exists():
        data, fits = joblib.load(cache)
    else:
        data = generated_training_set(n_firms, BOOTSTRAP_SEED, end_month, BOOTSTRAP_PARAMS)
        fits = fit_kinds(data)
        model_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        joblib.dump((data, fits), tmp)
        tmp.replace(cache)
    records = register_fits(engine, model_dir, data, fits, champion_kind=CHAMPION_KIND)
    return next(r for r in records if r.kind == CHAMPION_KIND)
