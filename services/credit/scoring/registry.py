"""Model registry: versioned artifacts on disk (sha256-checked) recorded in the credit database."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.model_selection import train_test_split
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository
from services.credit.features import FEATURE_NAMES, compute_features
from services.credit.generator import default_end_month, simulate
from services.credit.models import ModelVersion
from services.credit.scoring.estimators import LogisticPD
from services.credit.scoring.evaluation import evaluate
from shared.db import utcnow, write_session

BOOTSTRAP_FIRMS = 3_000
BOOTSTRAP_SEED = 20261129


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve: the estimator and the features it reads, in order."""

    version: str
    estimator: Any
    features: list[str]

    def predict_pd(self, features: dict[str, float]) -> float:
        """PD of one feature row."""
        x = np.array([[features[f] for f in self.features]])
        return float(self.estimator.predict_proba(x)[0, 1])

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Log-odds of default each feature adds (positive: adverse)."""
        x = np.array([features[f] for f in self.features])
        return dict(zip(self.features, map(float, self.estimator.contributions(x)), strict=True))


_cache: dict[str, LoadedModel] = {}
_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load(record: ModelVersion) -> LoadedModel:
    """The estimator of a registry record, loaded once per process and checked against its sha256."""
    cached = _cache.get(record.version)
    if cached is not None:
        return cached
    with _lock:
        if record.version in _cache:
            return _cache[record.version]
        path = Path(record.artifact_path)
        if sha256_of(path) != record.sha256:
            raise RuntimeError(f"artifact of model {record.version} does not match its sha256")
        artifact = joblib.load(path)
        model = LoadedModel(record.version, artifact["estimator"], list(artifact["features"]))
        _cache[record.version] = model
        return model


def register(
    engine: Engine,
    model_dir: Path,
    *,
    kind: str,
    estimator: Any,
    features: list[str],
    training_window: dict[str, Any],
    metrics: dict[str, Any],
    champion: bool,
) -> ModelVersion:
    """Save an estimator as a versioned artifact and record it (optionally as champion)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    created = utcnow()
    tmp = model_dir / f".{kind}-{created.timestamp():.6f}.joblib"
    joblib.dump({"estimator": estimator, "features": features, "kind": kind}, tmp)
    digest = sha256_of(tmp)
    version = f"{kind}-{created:%Y%m%d}-{digest[:10]}"
    path = model_dir / f"{version}.joblib"
    tmp.replace(path)
    record = ModelVersion(
        version=version,
        kind=kind,
        status="candidate",
        artifact_path=str(path),
        sha256=digest,
        features=features,
        training_window=training_window,
        metrics=metrics,
        created_at=created,
    )
    with write_session(engine) as session:
        existing = session.get(ModelVersion, version)
        if existing is not None:
            return existing
        session.add(record)
        if champion:
            _make_champion(session, record)
        session.commit()
    return record


def _make_champion(session: Session, record: ModelVersion) -> None:
    current = repository.champion_model(session)
    if current is not None and current.version != record.version:
        current.status = "retired"
        session.add(current)
        session.flush()
    record.status = "champion"
    record.promoted_at = utcnow()
    session.add(record)


def promote(engine: Engine, version: str) -> ModelVersion | None:
    """Make a version the champion (the previous champion retires); None if unknown."""
    with write_session(engine) as session:
        record = repository.get_model(session, version)
        if record is None:
            return None
        _make_champion(session, record)
        session.commit()
        return record


def train_bootstrap(
    engine: Engine, model_dir: Path, n_firms: int = BOOTSTRAP_FIRMS
) -> ModelVersion:
    """Train the first champion on generated histories, so a new install can score at once."""
    end_month = default_end_month()
    # Deterministic inputs give a deterministic model: reuse a fit made earlier on this machine.
    cache = model_dir / f"bootstrap-{end_month}-{BOOTSTRAP_SEED}-{n_firms}.joblib"
    if cache.exists():
        cached = joblib.load(cache)
        estimator, metrics = cached["estimator"], cached["metrics"]
    else:
        estimator, metrics = _fit_bootstrap(end_month, n_firms)
        model_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        joblib.dump({"estimator": estimator, "metrics": metrics}, tmp)
        tmp.replace(cache)
    return register(
        engine,
        model_dir,
        kind="logistic",
        estimator=estimator,
        features=FEATURE_NAMES,
        training_window={
            "source": "generator",
            "seed": BOOTSTRAP_SEED,
            "firms": n_firms,
            "history_end_month": end_month,
        },
        metrics=metrics,
        champion=True,
    )


def _fit_bootstrap(end_month: str, n_firms: int) -> tuple[LogisticPD, dict[str, Any]]:
    firms = list(simulate(n_firms, seed=BOOTSTRAP_SEED, end_month=end_month))
    X = np.array(
        [[compute_features(f.month_figures(), end_month)[n] for n in FEATURE_NAMES] for f in firms]
    )
    y = np.array([int(f.defaulted_12m) for f in firms])
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    metrics = evaluate(y_te, LogisticPD(C=1.0).fit(X_tr, y_tr).predict_proba(X_te)[:, 1])
    # The champion serves from all the data once its holdout figures are known.
    return LogisticPD(C=1.0).fit(X, y), metrics
