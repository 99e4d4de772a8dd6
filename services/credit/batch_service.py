"""Batch scoring: every firm of a platform, a chunk of firms at a time (bounded memory)."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository, scoring_service
from services.credit import scoring_repository as repo
from services.credit.batch_chunk import ChunkTask, batch_pool, score_range, score_range_in_worker
from services.credit.config import get_settings
from services.credit.models import ScoreBatchJob
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


def run_job(
    engine: Engine, job_id: str, today: date | None = None, workers: int | None = None
) -> ScoreBatchJob:
    """Score every firm of the job's platform, chunk by chunk; record the outcome.

    `workers` processes (default: the batch_workers setting; 0: none) read and score chunks
    while this thread inserts the finished ones, one transaction per chunk.
    """
    as_of = today or utcnow().date()
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
        task = ChunkTask(
            database_url=engine.url.render_as_string(hide_password=False),
            platform_org_id=job.platform_org_id,
            model_version=champion.version,
            artifact_path=champion.artifact_path,
            sha256=champion.sha256,
            as_of=as_of,
        )
        if workers is None:
            workers = get_settings().batch_workers
        scored = 0
        with closing(_scored_chunks(engine, task, workers)) as chunks:
            for rows in chunks:
                with engine.begin() as conn:
                    repo.insert_scores(conn, rows)
                    scored += len(rows)
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


def _id_ranges(engine: Engine, platform_org_id: str) -> Iterator[tuple[int, int]]:
    """First and last firm id of each chunk of CHUNK_FIRMS firms, in id order."""
    after = 0
    while True:
        with engine.connect() as conn:
            bounds = repo.firm_id_range(conn, platform_org_id, after, CHUNK_FIRMS)
        if bounds is None:
            return
        yield bounds
        after = bounds[1]


def _scored_chunks(
    engine: Engine, task: ChunkTask, workers: int
) -> Generator[list[tuple[Any, ...]], None, None]:
    """Score rows of each chunk, in the order they are ready.

    With workers, up to workers + 1 chunks are in flight: one finished and waiting while this
    thread inserts, the others being scored. While the pool first starts (its processes import
    for a second or two), this thread scores chunks itself.
    """
    ranges = _id_ranges(engine, task.platform_org_id)
    executor = batch_pool.started(workers)
    while executor is None:
        bounds = next(ranges, None)
        if bounds is None:
            return
        yield score_range(engine, task, *bounds)
        executor = batch_pool.started(workers)
    in_flight: deque[Future[list[tuple[Any, ...]]]] = deque()
    # Until the workers' first chunk is back this thread has nothing to insert: it scores too.
    helping = True
    try:
        while True:
            while len(in_flight) <= workers and (bounds := next(ranges, None)) is not None:
                in_flight.append(executor.submit(score_range_in_worker, task, *bounds))
            if not in_flight:
                return
            if helping and not in_flight[0].done():
                bounds = next(ranges, None)
                if bounds is not None:
                    yield score_range(engine, task, *bounds)
                    continue
            helping = False
            yield in_flight.popleft().result()
    except BrokenProcessPool:
        # A worker died (killed, out of memory): this job fails, the next one gets a new pool.
        batch_pool.reset(executor)
        raise
    finally:
        for future in in_flight:
            future.cancel()


def _monitor(engine: Engine, version: str) -> None:
    try:
        scoring_service.monitor(engine, version, record_events=True)
    except Exception:  # monitoring must never fail the scoring it watches
        log.exception("monitoring of %s after a batch failed", version)
