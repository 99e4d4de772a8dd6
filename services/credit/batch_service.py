"""Batch scoring: every firm of a platform, a chunk of firms at a time (bounded memory)."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Date
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from services.credit import repository
from services.credit import scoring_repository as repo
from services.credit.features import (
    FEATURE_NAMES,
    WINDOW_MONTHS,
    MonthPanel,
    feature_matrix,
    month_key,
    months_back,
)
from services.credit.models import ScoreBatchJob
from services.credit.reference import currency_minor_units
from services.credit.scoring import registry
from services.credit.scoring.explain import reasons_from_contributions
from services.credit.scoring.scale import grades_from_pd, scores_from_pd
from shared.db import UTCDateTime, utcnow, write_session
from shared.errors import NotFound, ServiceUnavailable

log = logging.getLogger("smefin.credit.batch")
# Firms per chunk: memory stays at a few MB whatever the platform's size.
CHUNK_FIRMS = 5_000


def create_job(engine: Engine, platform_org_id: str) -> ScoreBatchJob:
    """Queue a job scoring every firm of a platform with the champion."""
    with write_session(engine) as session:
        if repository.champion_model(session) is None:
            raise ServiceUnavailable("no champion model is registered yet", retry_after_s=5)
        job = ScoreBatchJob(
            id=uuid.uuid4().hex,
            platform_org_id=platform_org_id,
            firms_total=repo.count_firms(session, platform_org_id),
        )
        session.add(job)
        session.commit()
        return job


def get_job(engine: Engine, platform_org_id: str, job_id: str) -> ScoreBatchJob:
    """A platform's job, or a 404 (another platform's job is not found either)."""
    with Session(engine) as session:
        job = repo.get_job(session, job_id)
    if job is None or job.platform_org_id != platform_org_id:
        raise NotFound(f"batch scoring job {job_id!r} not found")
    return job


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
    if not len(rows):
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


def run_job(engine: Engine, job_id: str, today: date | None = None) -> ScoreBatchJob:
    """Score every firm of the job's platform, a chunk per transaction; record the outcome."""
    as_of = today or utcnow().date()
    as_of_month = month_key(as_of)
    since = months_back(as_of_month, WINDOW_MONTHS)[0]
    with write_session(engine) as session:
        job = repo.get_job(session, job_id)
        if job is None:
            raise NotFound(f"batch scoring job {job_id!r} not found")
        champion = repository.champion_model(session)
        job.status = "running"
        job.started_at = utcnow()
        job.model_version = champion.version if champion else None
        session.add(job)
        session.commit()
    try:
        if champion is None:
            raise RuntimeError("no champion model")
        model = registry.load(champion)
        columns = [FEATURE_NAMES.index(f) for f in model.features]
        after, scored = 0, 0
        while True:
            with engine.begin() as conn:
                chunk = repo.firm_chunk(conn, job.platform_org_id, after, CHUNK_FIRMS)
                if not chunk:
                    break
                ids = [fid for fid, _ in chunk]
                rows, currencies = repo.metric_matrix(conn, ids[0], ids[-1], since, as_of_month)
                panel = panel_from_matrix(rows, currencies, ids, as_of_month)
                X = feature_matrix(panel)[:, columns]
                repo.insert_scores(
                    conn, _score_rows(conn, model, champion.version, chunk, X, as_of)
                )
                scored += len(chunk)
                after = ids[-1]
                conn.execute(
                    ScoreBatchJob.__table__.update()  # type: ignore[attr-defined]
                    .where(ScoreBatchJob.__table__.c.id == job_id)  # type: ignore[attr-defined]
                    .values(firms_scored=scored)
                )
        status, error = "succeeded", None
        # A batch is a month's population at once: check its stability against training now.
        _monitor(engine, champion.version)
    except Exception as exc:  # a failed job says why; the caller polls its status
        log.exception("batch scoring job %s failed", job_id)
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
    with write_session(engine) as session:
        job = repo.get_job(session, job_id)
        assert job is not None
        job.status = status
        job.error = error
        job.finished_at = utcnow()
        session.add(job)
        session.commit()
        return job


def _score_rows(
    conn: Connection,
    model: registry.LoadedModel,
    version: str,
    chunk: list[tuple[int, int]],
    X: np.ndarray,
    as_of: date,
) -> list[tuple[Any, ...]]:
    pd_12m = model.predict_pd_matrix(X)
    reasons = reasons_from_contributions(model.features, model.contributions_matrix(X))
    scores = scores_from_pd(pd_12m).tolist()
    grades = grades_from_pd(pd_12m).tolist()
    # Python round, as a single score rounds: a reproduction compares them exactly.
    pds = [round(p, 6) for p in pd_12m.tolist()]
    # Dates are bound once per chunk; every row of a chunk shares them.
    as_of_bound = repo.bind_value(conn, Date(), as_of)
    now = repo.bind_value(conn, UTCDateTime(), utcnow())
    names = model.features
    return [
        (
            fid,
            version,
            as_of_bound,
            mv,
            pds[i],
            scores[i],
            grades[i],
            orjson.dumps(reasons[i]).decode(),
            orjson.dumps(dict(zip(names, X[i].tolist(), strict=True))).decode(),
            now,
        )
        for i, (fid, mv) in enumerate(chunk)
    ]


def _monitor(engine: Engine, version: str) -> None:
    from services.credit.scoring_service import monitor

    try:
        monitor(engine, version, record_events=True)
    except Exception:  # monitoring must never fail the scoring it watches
        log.exception("monitoring of %s after a batch failed", version)
