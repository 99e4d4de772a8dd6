"""Champion scorecard and challenger: shape, points, scaling, holdout metrics, reasons."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from services.credit.generator import GeneratorParams
from services.credit.scoring.binning import WoEBinner
from services.credit.scoring.challenger import GradientBoostedPD
from services.credit.scoring.explain import (
    reasons_from_contributions,
    reasons_json_from_contributions,
)
from services.credit.scoring.reasons import REASONS
from services.credit.scoring.scale import (
    POINTS_TO_DOUBLE_ODDS,
    SCORE_MAX,
    SCORE_MIN,
    grade_from_pd,
    grades_from_pd,
    score_from_pd,
    scores_from_pd,
)
from services.credit.scoring.scorecard import Scorecard
from services.credit.scoring.training import TrainingSet, fit_kinds, generated_training_set

pytestmark = pytest.mark.backend_free

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def generated() -> TrainingSet:
    return generated_training_set(
        3000, 77, "2026-11", GeneratorParams(median_monthly_sales=9_000.0)
    )


def test_champion_auc_within_002_of_challenger_on_holdout(generated: TrainingSet) -> None:
    fits = {f.kind: f for f in fit_kinds(generated)}
    champion, challenger = fits["scorecard"].metrics, fits["gbm"].metrics
    for m in (champion, challenger):
        assert {"auc", "ks", "brier", "calibration", "psi_reference"} <= set(m)
        assert len(m["calibration"]) == 10
        assert 0 < m["brier"] < 0.1
        assert m["auc"] > 0.7
    assert champion["auc"] >= challenger["auc"] - 0.02
    # Calibrated: the mean PD on the holdout is close to its default rate.
    assert abs(challenger["mean_pd"] - challenger["default_rate"]) < 0.02
    assert abs(champion["mean_pd"] - champion["default_rate"]) < 0.02


def test_points_add_up_to_the_scaled_score(generated: TrainingSet) -> None:
    sc = Scorecard().fit(generated.X, generated.y)
    pd_ = sc.predict_proba(generated.X[:200])[:, 1]
    total = sc.points(generated.X[:200]).sum(axis=1)
    assert np.all(np.abs(total - [score_from_pd(p) for p in pd_]) <= 1.0)
    assert (sc.coef_ >= 0).all()
    table = sc.points_table(generated.features)
    assert {r["feature"] for r in table} == set(generated.features)
    # Doubling the odds of repaying is worth POINTS_TO_DOUBLE_ODDS points.
    assert score_from_pd(1 / 31) - score_from_pd(1 / 16) == pytest.approx(
        POINTS_TO_DOUBLE_ODDS, abs=1
    )


def test_scale_range_and_grades() -> None:
    assert score_from_pd(1e-9) == SCORE_MAX and score_from_pd(0.999999) == SCORE_MIN
    pds = np.array([0.001, 0.015, 0.03, 0.05, 0.1, 0.5])
    assert list(grades_from_pd(pds)) == [grade_from_pd(p) for p in pds] == list("ABCDEF")
    assert list(scores_from_pd(pds)) == [score_from_pd(p) for p in pds]


def test_estimator_shape() -> None:
    sc = Scorecard(max_bins=5, C=0.5)
    assert clone(sc).get_params() == sc.get_params()
    with pytest.raises(NotFittedError):
        sc.predict_proba(np.zeros((1, 2)))
    with pytest.raises(NotFittedError):
        GradientBoostedPD().predict_proba(np.zeros((1, 2)))


def test_binner_missing_categorical_constant_all_missing() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    risk = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(risk * 2 - 3)))).astype(int)
    numeric = np.where(rng.random(n) < 0.1, np.nan, risk)
    category = np.where(risk > 0.5, 2.0, rng.integers(0, 2, n).astype(float))
    X = np.column_stack([numeric, category, np.ones(n), np.full(n, np.nan)])
    binner = WoEBinner(categorical_features=(1,)).fit(X, y)
    kinds = [b.kind for b in binner.bins_]
    assert kinds == ["numeric", "categorical", "dropped", "dropped"]
    woe = binner.transform(X)
    assert np.isfinite(woe).all()
    assert binner.bins_[0].missing_count > 0
    # Unseen category and missing values transform without error.
    assert np.isfinite(binner.transform(np.array([[np.nan, 9.0, 1.0, np.nan]]))).all()
    sc = Scorecard(categorical_features=(1,)).fit(X, y)
    assert list(sc.selected_[2:]) == [False, False]
    gbm = GradientBoostedPD(categorical_features=(1,), max_iter=50).fit(X, y)
    assert np.isfinite(gbm.predict_proba(X[:10])).all()


def test_reasons_at_most_four_adverse_with_points(generated: TrainingSet) -> None:
    for est in (Scorecard(), GradientBoostedPD(max_iter=50)):
        est.fit(generated.X, generated.y)
        contrib = est.log_odds_contributions(generated.X[:300])
        reasons = reasons_from_contributions(generated.features, contrib)
        assert all(len(r) <= 4 for r in reasons)
        assert any(len(r) == 4 for r in reasons)
        codes = {r.code for r in REASONS.values()}
        for row in reasons:
            assert all(x["code"] in codes and x["points"] < 0 for x in row)
            assert [x["points"] for x in row] == sorted(x["points"] for x in row)
            assert all(x["message_en"] and x["message_zh"] for x in row)


def test_reasons_as_json_are_the_serialised_reasons_byte_for_byte(
    generated: TrainingSet,
) -> None:
    rng = np.random.default_rng(7)
    fitted = [est.fit(generated.X, generated.y) for est in (Scorecard(), GradientBoostedPD())]
    cases = [est.log_odds_contributions(generated.X[:2000]) for est in fitted]
    # Ties, nothing adverse, NaN, fewer features than reasons, none at all.
    tied = np.repeat(rng.normal(0, 0.3, (5, 12)).round(2), 40, axis=0)
    tied[::7] = -1.0
    tied[3, 2] = np.nan
    cases += [tied, tied[:, :3], np.zeros((4, 0)), np.zeros((0, 12))]
    for contrib in cases:
        names = generated.features[: contrib.shape[1]]
        expected = [orjson.dumps(r).decode() for r in reasons_from_contributions(names, contrib)]
        assert reasons_json_from_contributions(names, contrib) == expected


def test_reason_codes_documented() -> None:
    text = (DOCS / "reason-codes.md").read_text()
    for feature, reason in REASONS.items():
        line = next((ln for ln in text.splitlines() if reason.code in ln), None)
        assert line is not None, f"{reason.code} missing from docs/reason-codes.md"
        assert reason.en in line and reason.zh in line and f"`{feature}`" in line
    assert len({r.code for r in REASONS.values()}) == len(REASONS)
    assert all(re.fullmatch(r"R\d\d_[A-Z_]+", r.code) for r in REASONS.values())


@parametrize_with_checks([Scorecard(), GradientBoostedPD(max_iter=20)])
def test_scikit_learn_estimator_checks(estimator: object, check: Callable[[object], None]) -> None:
    check(estimator)
