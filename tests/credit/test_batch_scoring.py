"""Batch scoring: a job per platform, chunked, same results as scoring one firm at a time."""

from __future__ import annotations

import math
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.cli.generate import load_into_database
from services.credit import batch_service, metric_record, repository, scoring_service, service
from services.credit.batch_chunk import batch_pool, panel_from_matrix
from services.credit.config import CreditSettings
from services.credit.features import compute_features, month_key, months_back
from services.credit.generator import GeneratorParams, simulate
from services.credit.models import CreditScore, Firm, FirmMonthMetric
from services.credit.scoring import registry
from shared.db import make_engine, utcnow
from tests.conftest import principal_headers


def _load(settings: CreditSettings, n: int, platform: str, seed: int) -> None:
    engine = make_engine(settings.database_url)
    load_into_database(
        engine,
        platform,
        simulate(n, seed=seed, params=GeneratorParams(median_monthly_sales=3_000.0)),
    )
    engine.dispose()


def test_job_scores_every_firm_of_the_platform_only(
    credit: TestClient, credit_settings: CreditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_service, "CHUNK_FIRMS", 37)  # several chunks, a ragged last one
    _load(credit_settings, 120, "org_p1", 1)
    _load(credit_settings, 10, "org_p2", 2)
    r = credit.post("/v1/score-batches")
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["firms_total"] == 120
    done = credit.get(f"/v1/score-batches/{job['id']}").json()
    assert done["status"] == "succeeded", done
    assert done["firms_scored"] == 120 and done["model_version"].startswith("scorecard-")
    assert done["finished_at"] >= done["started_at"]
    other = principal_headers("org_p2")
    assert credit.get(f"/v1/score-batches/{job['id']}", headers=other).status_code == 404
    engine = make_engine(credit_settings.database_url)
    with Session(engine) as session:
        scores = session.exec(select(CreditScore)).all()
        firms = {f.id: f for f in session.exec(select(Firm)).all()}
    assert len(scores) == 120
    assert {firms[s.firm_id].platform_org_id for s in scores} == {"org_p1"}
    # The stored score is the one a single GET serves (same model, metrics, day).
    one = credit.get("/v1/firms/m000005/score").json()
    stored = next(s for s in scores if firms[s.firm_id].firm_ref == "m000005")
    assert one["pd_12m"] == stored.pd_12m and one["reasons"] == stored.reasons
    assert stored.id is not None
    assert scoring_service.reproduce_score(engine, stored.id).matches
    # The job ran monitoring: every month over a threshold is recorded as an event.
    view = scoring_service.monitor(engine, done["model_version"], record_events=False)
    flagged = {(m.month, m.level) for m in view.months if m.level in ("warning", "alert")}
    assert {(e["month"], e["level"]) for e in view.events} == flagged
    assert any(m.scores == 120 for m in view.months)
    # These shops are a third of the bootstrap population's size: the month has drifted.
    assert flagged
    engine.dispose()


def test_batch_features_equal_single_firm_features(credit_settings: CreditSettings) -> None:
    _load(credit_settings, 60, "org_p1", 3)
    engine = make_engine(credit_settings.database_url)
    as_of_month = month_key(utcnow().date())
    # Firm 2 also sells in USD, more than in CNY: its features must be read in USD alone.
    with Session(engine) as session:
        for i, month in enumerate(months_back(as_of_month, 10)):
            figures = {
                "firm_id": 2,
                "month": month,
                "currency": "USD",
                "sales_minor": 10_000_000 + i * 100_000,
                "sales_count": 50,
                "refund_minor": 12_345,
                "distinct_buyers": 20 + i,
                "repeat_buyers": 3,
                "top_buyer_sales_minor": 2_000_000,
                "active_day_mask": 0b1011,
            }
            session.add(FirmMonthMetric(**figures, packed=metric_record.pack_columns(figures)))
        session.commit()
    with engine.begin() as conn:
        from services.credit import scoring_repository as repo

        first, last = repo.firm_id_range(conn, "org_p1", 0, 1000) or (0, 0)
        ids = [i for i, _ in repo.firms_between(conn, "org_p1", first, last)]
        assert len(ids) == 60
        rows, currencies = repo.metric_matrix(conn, ids[0], ids[-1], "2000-01", as_of_month)
    from services.credit.features import FEATURE_NAMES, feature_matrix

    X = feature_matrix(panel_from_matrix(rows, currencies, ids, as_of_month))
    with Session(engine) as session:
        for k, fid in enumerate(ids):
            single = compute_features(
                service.month_figures(
                    repository.month_metrics(session, fid, before_month=as_of_month)
                ),
                as_of_month,
            )
            if fid == 2:
                assert single["active_days_3m"] == 3.0  # the USD rows were the ones read
            for j, name in enumerate(FEATURE_NAMES):
                assert math.isclose(X[k, j], single[name], rel_tol=1e-9, abs_tol=1e-9), name
    engine.dispose()


def test_batch_without_firms_succeeds_empty(credit: TestClient) -> None:
    job = credit.post("/v1/score-batches").json()
    done = credit.get(f"/v1/score-batches/{job['id']}").json()
    assert done["status"] == "succeeded" and done["firms_scored"] == 0
    assert credit.get("/v1/score-batches/nope").status_code == 404
    lender = principal_headers("org_l1", "lender")
    assert credit.post("/v1/score-batches", headers=lender).status_code == 403


def _warm_pool(workers: int) -> ProcessPoolExecutor:
    """The batch pool with its workers up (started in the background on first use)."""
    deadline = time.monotonic() + 120
    while (executor := batch_pool.started(workers)) is None:
        assert time.monotonic() < deadline, "the batch pool did not start"
        time.sleep(0.1)
    return executor


def _stored(engine: Engine) -> dict[int, tuple[object, ...]]:
    with Session(engine) as session:
        return {
            s.firm_id: (
                s.as_of,
                s.metrics_version,
                s.pd_12m,
                s.score,
                s.grade,
                s.reasons,
                s.features,
            )
            for s in session.exec(select(CreditScore)).all()
        }


def test_worker_processes_store_what_the_job_thread_stores(
    credit_settings: CreditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_service, "CHUNK_FIRMS", 23)  # more chunks than in flight
    _load(credit_settings, 150, "org_p1", 4)
    engine = make_engine(credit_settings.database_url)
    registry.train_bootstrap(engine, credit_settings.model_dir)
    _warm_pool(2)
    inline: list[tuple[int, int]] = []
    score_range = batch_service.score_range
    monkeypatch.setattr(
        batch_service,
        "score_range",
        lambda eng, task, first, last: (
            inline.append((first, last)) or score_range(eng, task, first, last)
        ),
    )
    pooled = batch_service.run_job(engine, batch_service.create_job(engine, "org_p1").id, workers=2)
    assert pooled.status == "succeeded" and pooled.firms_scored == 150, pooled.error
    chunks = math.ceil(150 / 23)
    # The first workers + 1 chunks go to the workers; the job's thread helps only until the
    # first of them is back.
    assert len(inline) <= chunks - 3
    by_workers = _stored(engine)
    with Session(engine) as session:
        session.exec(delete(CreditScore))  # type: ignore[call-overload]
        session.commit()
    before = len(inline)
    alone = batch_service.run_job(engine, batch_service.create_job(engine, "org_p1").id, workers=0)
    assert alone.status == "succeeded" and alone.firms_scored == 150, alone.error
    assert len(inline) == before + chunks  # workers=0: every chunk in the job's thread
    assert _stored(engine) == by_workers and len(by_workers) == 150
    engine.dispose()


def test_a_killed_batch_worker_fails_the_job_and_the_next_job_recovers(
    credit_settings: CreditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_service, "CHUNK_FIRMS", 10)
    _load(credit_settings, 40, "org_p1", 5)
    engine = make_engine(credit_settings.database_url)
    registry.train_bootstrap(engine, credit_settings.model_dir)
    running = _warm_pool(2)
    for proc in list(running._processes.values()):  # type: ignore[attr-defined]
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
    failed = batch_service.run_job(engine, batch_service.create_job(engine, "org_p1").id, workers=2)
    assert failed.status == "failed" and "BrokenProcessPool" in (failed.error or "")
    # The next job does not wait for a new pool: it scores in its own thread meanwhile.
    done = batch_service.run_job(engine, batch_service.create_job(engine, "org_p1").id, workers=2)
    assert done.status == "succeeded" and done.firms_scored == 40, done.error
    assert _warm_pool(2) is not running
    engine.dispose()
