"""Model registry: versioned artifacts on disk (sha256-checked) recorded in the credit database."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository
from services.credit.features import FEATURE_NAMES
from services.credit.models import ModelVersion
from services.credit.scoring.encoding import encode
from shared.db import utcnow, write_session
from shared.errors import Conflict

# Bumped whenever the artifact layout changes, so old cached fits are not reused.
ARTIFACT_FORMAT = 2


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve: the estimator, its inputs in order and their category lists."""

    version: str
    kind: str
    estimator: Any
    features: list[str]
    # Categorical input -> its categories; a value is encoded as its index in the list.
    categories: dict[str, list[str]] = field(default_factory=dict)
    holdout: dict[str, Any] = field(default_factory=dict)

    def encode(self, rows: list[dict[str, Any]]) -> NDArray[np.float64]:
        """Rows of named raw values as the estimator's matrix (missing and unseen: NaN)."""
        return encode(rows, self.features, self.categories)

    def predict_pd_matrix(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """PD of every row of an encoded matrix."""
        return self.estimator.predict_proba(X)[:, 1]

    def contributions_matrix(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Log-odds of default each feature adds to each row (positive: adverse)."""
        return self.estimator.log_odds_contributions(X)

    def predict_pd(self, features: dict[str, float]) -> float:
        """PD of one row of named features."""
        return float(self.predict_pd_matrix(self.encode([features]))[0])

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Log-odds of default each named feature adds to one row (positive: adverse)."""
        row = self.contributions_matrix(self.encode([features]))[0]
        return dict(zip(self.features, map(float, row), strict=True))


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
    """The estimator of a registry record, loaded once per process, checked against its sha256."""
    return load_artifact(record.version, record.artifact_path, record.sha256)


def load_artifact(version: str, artifact_path: str, sha256: str) -> LoadedModel:
    """The estimator of a version from its artifact file (what `load` reads of a record)."""
    cached = _cache.get(version)
    if cached is not None:
        return cached
    with _lock:
        if version in _cache:
            return _cache[version]
        path = Path(artifact_path)
        if not path.exists():
            raise FileNotFoundError(f"artifact of model {version} is missing: {path}")
        if sha256_of(path) != sha256:
            raise RuntimeError(f"artifact of model {version} does not match its sha256")
        artifact = joblib.load(path)
        model = LoadedModel(
            version=version,
            kind=artifact["kind"],
            estimator=artifact["estimator"],
            features=list(artifact["features"]),
            categories=dict(artifact.get("categories", {})),
            holdout=dict(artifact.get("holdout", {})),
        )
        _cache[version] = model
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
    categories: dict[str, list[str]] | None = None,
    holdout: dict[str, Any] | None = None,
) -> ModelVersion:
    """Save an estimator as a versioned artifact and record it (optionally as champion).

    The version is derived from the artifact's sha256, so the same fit registers once.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    created = utcnow()
    tmp = model_dir / f".{kind}-{created.timestamp():.6f}-{threading.get_ident()}.joblib"
    artifact = {
        "format": ARTIFACT_FORMAT,
        "kind": kind,
        "estimator": estimator,
        "features": features,
        "categories": categories or {},
        "holdout": holdout or {},
        "training_window": training_window,
    }
    joblib.dump(artifact, tmp)
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
            # The same fit again: its file is rewritten here, so the record points at it.
            existing.artifact_path = str(path)
            if champion:
                _make_champion(session, existing)
            session.add(existing)
            session.commit()
            _cache.pop(version, None)
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
        missing = [f for f in record.features if f not in FEATURE_NAMES]
        if missing:
            # A model fitted on a lender's own columns cannot score firms from their metrics.
            raise Conflict(
                f"model {version} reads inputs firms do not have ({', '.join(missing[:5])}); "
                "only models on the documented firm features can be champion"
            )
        _make_champion(session, record)
        session.commit()
        return record


def train_bootstrap(engine: Engine, model_dir: Path) -> ModelVersion:
    """Train (or reuse) the first champion on generated histories; see training.train_bootstrap."""
    from services.credit.scoring.training import train_bootstrap as _train_bootstrap

    return _train_bootstrap(engine, model_dir)
