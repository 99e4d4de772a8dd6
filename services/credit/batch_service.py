"""Batch scoring: every firm of a platform, a chunk of firms at a time (bounded memory)."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

import numpy as np
import orjson
from sqlalchemy.engine import Engine
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
from shared.db import utcnow, write_session
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


def panel_from_rows(rows: list[Any], firm_ids: list[int], as_of_month: str) -> MonthPanel:
    """Metric rows of many firms as a feature panel, in each firm's primary currency."""
    n = len(firm_ids)
    panel = MonthPanel.zeros(n)
    if not rows:
        return panel
    cols = list(zip(*rows, strict=True))
    pos_of = {fid: i for i, fid in enumerate(firm_ids)}
    month_of = {m: i for i, m in enumerate(months_back(as_of_month, WINDOW_MONTHS))}
    currencies = sorted(set(cols[2]))
    cur_of = {c: i for i, c in enumerate(currencies)}
    scale_of = np.array([10.0 ** currency_minor_units().get(c, 2) for c in currencies])
    pos = np.fromiter((pos_of.get(f, -1) for f in cols[0]), dtype=np.int64, count=len(rows))
    month = np.fromiter((month_of.get(m, -1) for m in cols[1]), dtype=np.int64, count=len(rows))
    cur = np.fromiter((cur_of[c] for c in cols[2]), dtype=np.int64, count=len(rows))
    keep = (pos >= 0) & (month >= 0)
    scale = scale_of[cur]
    sales = np.asarray(cols[3], dtype=float) / scale
    # The primary currency of a firm is the one with the most sales in the window.
    totals = np.bincount(
        pos[keep] * len(currencies) + cur[keep], weights=sales[keep], minlength=n * len(currencies)
    ).reshape(n, len(currencies))
    primary = totals.argmax(axis=1)
    keep &= cur == primary[np.maximum(pos, 0)]
    p, m = pos[keep], month[keep]
    panel.sales[p, m] = sales[keep]
    panel.refunds[p, m] = (np.asarray(cols[4], dtype=float) / scale)[keep]
    panel.chargebacks[p, m] = (np.asarray(cols[5], dtype=float) / scale)[keep]
    panel.distinct_buyers[p, m] = np.asarray(cols[6], dtype=float)[keep]
    panel.repeat_buyers[p, m] = np.asarray(cols[7], dtype=float)[keep]
    panel.top_buyer_sales[p, m] = (np.asarray(cols[8], dtype=float) / scale)[keep]
    masks = np.asarray(cols[9], dtype=np.int64).astype(np.uint64)
    panel.active_days[p, m] = np.bitwise_count(masks)[keep]
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
                rows = repo.metric_rows(conn, ids[0], ids[-1], since, as_of_month)
                X = feature_matrix(panel_from_rows(rows, ids, as_of_month))[:, columns]
                repo.insert_scores(conn, _score_rows(model, champion.version, chunk, X, as_of))
                scored += len(chunk)
                after = ids[-1]
                conn.execute(
                    ScoreBatchJob.__table__.update()  # type: ignore[attr-defined]
                    .where(ScoreBatchJob.__table__.c.id == job_id)  # type: ignore[attr-defined]
                    .values(firms_scored=scored)
                )
        status, error = "succeeded", None
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
    model: registry.LoadedModel,
    version: str,
    chunk: list[tuple[int, int]],
    X: np.ndarray,
    as_of: date,
) -> list[dict[str, Any]]:
    pd_12m = model.predict_pd_matrix(X)
    reasons = reasons_from_contributions(model.features, model.contributions_matrix(X))
    scores = scores_from_pd(pd_12m)
    grades = grades_from_pd(pd_12m)
    now = utcnow()
    names = model.features
    return [
        {
            "firm_id": fid,
            "model_version": version,
            "as_of": as_of,
            "metrics_version": mv,
            "pd_12m": round(float(pd_12m[i]), 6),
            "score": int(scores[i]),
            "grade": str(grades[i]),
            "reasons": orjson.dumps(reasons[i]).decode(),
            "features": orjson.dumps(dict(zip(names, X[i].tolist(), strict=True))).decode(),
            "created_at": now,
        }
        for i, (fid, mv) in enumerate(chunk)
    ]
