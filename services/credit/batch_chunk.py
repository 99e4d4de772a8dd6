"""Score one chunk of a platform's firms: one read, features, the model, rows ready to insert.

Runs in a worker process of the batch pool, or in the job's thread (no workers configured, or
while the pool starts); the job's thread inserts what comes back (batch_service.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Date
from sqlalchemy.engine import Connection, Engine

from services.credit import scoring_repository as repo
from services.credit.features import (
    FEATURE_NAMES,
    WINDOW_MONTHS,
    MonthPanel,
    feature_matrix,
    month_key,
    months_back,
)
from services.credit.reference import currency_minor_units
from services.credit.scoring import estimators as _estimators  # noqa: F401 - classes to unpickle
from services.credit.scoring import registry
from services.credit.scoring.explain import reasons_json_from_contributions
from services.credit.scoring.scale import grades_from_pd, scores_from_pd
from shared.db import UTCDateTime, utcnow
from shared.process_pool import LazyProcessPool, worker_engine

# Workers import this module (numpy, scikit-learn, the estimators) before their first chunk.
batch_pool = LazyProcessPool("batch", modules=[__name__])


@dataclass(frozen=True)
class ChunkTask:
    """What scoring any chunk of a job needs (picklable: it crosses to a worker process)."""

    database_url: str
    platform_org_id: str
    model_version: str
    artifact_path: str
    sha256: str
    as_of: date


def month_number(month: str) -> int:
    """'YYYY-MM' as year x 12 + month, the form metric_matrix returns."""
    return int(month[:4]) * 12 + int(month[5:7])


def panel_from_matrix(
    rows: np.ndarray, currencies: list[str], firm_ids: list[int], as_of_month: str
) -> MonthPanel:
    """Metric rows of many firms (scoring_repository.metric_matrix) as a feature panel, each
    firm in its primary currency (the one with the most sales in the window)."""
    n = len(firm_ids)
    panel = MonthPanel.zeros(n)
    if not len(rows) or not n:
        return panel
    ids = np.asarray(firm_ids, dtype=np.int64)
    pos = np.searchsorted(ids, rows[:, 0])
    pos = np.minimum(pos, n - 1)
    first = month_number(months_back(as_of_month, WINDOW_MONTHS)[0])
    month = rows[:, 1] - first
    keep = (ids[pos] == rows[:, 0]) & (month >= 0) & (month < WINDOW_MONTHS)
    cur = rows[:, 2]
    scale = np.array([10.0 ** currency_minor_units().get(c, 2) for c in currencies])[cur]
    sales = rows[:, 3] / scale
    if len(currencies) > 1:
        totals = np.bincount(
            pos[keep] * len(currencies) + cur[keep],
            weights=sales[keep],
            minlength=n * len(currencies),
        ).reshape(n, len(currencies))
        keep &= cur == totals.argmax(axis=1)[pos]
    p, m = pos[keep], month[keep]
    panel.sales[p, m] = sales[keep]
    panel.refunds[p, m] = (rows[:, 4] / scale)[keep]
    panel.chargebacks[p, m] = (rows[:, 5] / scale)[keep]
    panel.distinct_buyers[p, m] = rows[keep, 6]
    panel.repeat_buyers[p, m] = rows[keep, 7]
    panel.top_buyer_sales[p, m] = (rows[:, 8] / scale)[keep]
    panel.active_days[p, m] = np.bitwise_count(rows[keep, 9].astype(np.uint64))
    return panel


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction whose queries all see the database as of its first read."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # READ COMMITTED would let a commit between two queries show in the second.
            conn.execution_options(isolation_level="REPEATABLE READ")
        # SQLite: a deferred BEGIN (shared.db) holds one WAL snapshot until the end.
        with conn.begin():
            yield conn


def score_range(
    engine: Engine, task: ChunkTask, first_id: int, last_id: int
) -> list[tuple[Any, ...]]:
    """Score rows (scoring_repository.SCORE_COLUMNS order) of the task's firms with ids in
    [first_id, last_id]: the firms and their metrics are read in one consistent snapshot."""
    model = registry.load_artifact(task.model_version, task.artifact_path, task.sha256)
    columns = [FEATURE_NAMES.index(f) for f in model.features]
    as_of_month = month_key(task.as_of)
    since = months_back(as_of_month, WINDOW_MONTHS)[0]
    with read_snapshot(engine) as conn:
        chunk = repo.firms_between(conn, task.platform_org_id, first_id, last_id)
        if not chunk:
            return []
        rows, currencies = repo.metric_matrix(conn, first_id, last_id, since, as_of_month)
        # Dates are bound once per chunk; every row of a chunk shares them.
        as_of_bound = repo.bind_value(conn, Date(), task.as_of)
        now = repo.bind_value(conn, UTCDateTime(), utcnow())
    panel = panel_from_matrix(rows, currencies, [fid for fid, _ in chunk], as_of_month)
    X = feature_matrix(panel)[:, columns]
    return _score_rows(model, chunk, X, as_of_bound, now)


def score_range_in_worker(task: ChunkTask, first_id: int, last_id: int) -> list[tuple[Any, ...]]:
    """(In a worker of batch_pool) score_range on the worker's own engine of the database."""
    return score_range(worker_engine(task.database_url), task, first_id, last_id)


def _score_rows(
    model: registry.LoadedModel,
    chunk: list[tuple[int, int]],
    X: np.ndarray,
    as_of_bound: Any,
    now: Any,
) -> list[tuple[Any, ...]]:
    pd_12m = model.predict_pd_matrix(X)
    reasons = reasons_json_from_contributions(model.features, model.contributions_matrix(X))
    scores = scores_from_pd(pd_12m).tolist()
    grades = grades_from_pd(pd_12m).tolist()
    # Python round, as a single score rounds: a reproduction compares them exactly.
    pds = [round(p, 6) for p in pd_12m.tolist()]
    names = model.features
    version = model.version
    return [
        (
            fid,
            version,
            as_of_bound,
            mv,
            pds[i],
            scores[i],
            grades[i],
            reasons[i],
            orjson.dumps(dict(zip(names, values, strict=True))).decode(),
            now,
        )
        for i, ((fid, mv), values) in enumerate(zip(chunk, X.tolist(), strict=True))
    ]
