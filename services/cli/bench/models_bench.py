"""Credit model benchmarks: one score's latency, batch scoring throughput, training time.

- score_p50/p99_ms_service and _gateway: the first (computed, not cached) score of fresh firms,
  one request at a time, straight to credit and through the gateway; ratio to /healthz latency
  of the same process (the HTTP floor) and, for the gateway, to the direct figure.
- batch_scoring_firms_per_s: a batch job over 100,000 generated firms (24 months of metrics each)
  in a SQLite credit database, created and polled through the gateway of a stack of its own,
  timed by the job's own started_at and finished_at; ratio to reading the same metric rows raw
  (the I/O floor).
- train_50k_s: fitting the champion scorecard (and holdout metrics) on 50,000 applications;
  ratio to a plain logistic regression on the same standardised matrix (no binning).
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sqlalchemy import update
from sqlmodel import col

from services.cli.bench.results import Row
from services.cli.bench.setup import BENCH_DIR, BenchStack
from services.cli.client import SmefinClient
from services.cli.generate import load_into_database
from services.cli.stack import MIGRATIONS
from services.credit.generator import GeneratorParams, default_end_month, simulate
from services.credit.models import Firm
from services.credit.scoring.estimators import CHAMPION_KIND
from services.credit.scoring.training import fit_kinds, generated_training_set
from shared.db import make_engine
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.migrations import head_revisions, upgrade_to_head
from shared.settings import VAR_DIR

CACHE = VAR_DIR / "bench" / "cache"
SEED = 4242
# Shops of about 20 orders a month keep the uploads of the latency firms short.
LATENCY_PARAMS = GeneratorParams(median_monthly_sales=3_000.0)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def _timed_gets(client: httpx.Client, paths: list[str], headers: dict[str, str]) -> list[float]:
    out = []
    for path in paths:
        start = time.perf_counter()
        r = client.get(path, headers=headers)
        out.append(time.perf_counter() - start)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:200]}")
    return out


def _latency_rows(bench: BenchStack, quick: bool) -> list[Row]:
    n = 40 if quick else 400
    firms = list(simulate(n, seed=SEED, params=LATENCY_PARAMS))
    with SmefinClient(bench.stack.url("gateway"), bench.platform_key) as platform:
        for f in firms:
            platform.request(
                "PUT",
                f"/v1/firms/{f.firm_ref}",
                {"industry": f.industry, "region_code": f.region_code},
            )
        platform.upload_stream(row for f in firms for row in f.transactions())
    principal = Principal(bench.platform_org_id, "platform", frozenset({"firms:read"}))
    direct = {PRINCIPAL_HEADER: sign_principal(principal, bench.internal_secret)}
    gateway = {"Authorization": f"Bearer {bench.platform_key}"}
    paths = [f"/v1/firms/{f.firm_ref}/score" for f in firms]
    half = n // 2
    with httpx.Client(base_url=bench.stack.url("credit"), timeout=30) as svc:
        floor = _timed_gets(svc, ["/healthz"] * 200, {})
        # Warm the model cache of the process, on a firm outside the measured ones.
        svc.get(paths[-1], headers=direct)
        service = _timed_gets(svc, paths[:half], direct)
    with httpx.Client(base_url=bench.stack.url("gateway"), timeout=30) as gw:
        through = _timed_gets(gw, paths[half:-1], gateway)
    floor50, _ = _percentiles(floor)
    s50, s99 = _percentiles(service)
    g50, g99 = _percentiles(through)
    note = (
        f"first (computed) score of {half} fresh firms each, sequential; "
        f"/healthz p50 {floor50:.2f} ms"
    )
    return [
        Row("score_p50_ms_service", round(s50, 2), "ms", round(s50 / floor50, 2), None, note),
        Row("score_p99_ms_service", round(s99, 2), "ms", round(s99 / floor50, 2), None),
        Row("score_p50_ms_gateway", round(g50, 2), "ms", round(g50 / s50, 2), None),
        Row("score_p99_ms_gateway", round(g99, 2), "ms", round(g99 / s99, 2), None),
    ]


def _batch_template(n: int) -> Path:
    """A migrated credit database with n generated firms and their metrics (built once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    # Named by its schema too: a template of an older schema is rebuilt, not migrated.
    schema = "+".join(head_revisions(MIGRATIONS["credit"]))
    path = CACHE / f"credit-batch-{n}-{SEED}-{default_end_month()}-{schema}.db"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        url = f"sqlite:///{tmp}"
        upgrade_to_head(MIGRATIONS["credit"], url)
        engine = make_engine(url)
        load_into_database(engine, "bench", simulate(n, seed=SEED, params=LATENCY_PARAMS))
        engine.dispose()
        tmp.replace(path)
    return path


def _pool_workers(credit_url: str, timeout_s: float = 120.0) -> int:
    """Wait until the credit process's batch and ingest pools, started at its boot, are up;
    return the batch pool's workers (from its /metrics)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=credit_url, timeout=10) as svc:
        while True:
            up = {
                sample.labels["pool"]: int(sample.value)
                for family in text_string_to_metric_families(svc.get("/metrics").text)
                if family.name == "smefin_process_pool_workers"
                for sample in family.samples
            }
            if up.get("batch", 0) > 0 and up.get("ingest", 0) > 0:
                return up["batch"]
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"credit's worker pools not up after {timeout_s:.0f} s ({up}): "
                    "is SMEFIN_CREDIT_PRESTART_WORKERS off?"
                )
            time.sleep(0.2)


def _batch_job(bench: BenchStack) -> dict[str, Any]:
    """A batch job of the bench platform through the gateway, polled until it ends."""
    with SmefinClient(bench.stack.url("gateway"), bench.platform_key) as platform:
        job = platform.request("POST", "/v1/score-batches")
        while job["status"] in ("queued", "running"):
            time.sleep(0.5)
            job = platform.request("GET", f"/v1/score-batches/{job['id']}")
    if job["status"] != "succeeded" or not job["started_at"] or not job["finished_at"]:
        raise RuntimeError(f"batch job {job['status']}: {job['error']}")
    return dict(job)


def _raw_read(url: str) -> tuple[int, float]:
    """Every metric row read in one thread, the I/O floor: (rows, seconds)."""
    engine = make_engine(url)
    try:
        start = time.perf_counter()
        with engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("SELECT * FROM firm_month_metric")
            rows = len(cursor.fetchall())
            cursor.close()
        return rows, time.perf_counter() - start
    finally:
        engine.dispose()


def _give_firms(url: str, platform_org_id: str) -> None:
    """Hand the template's firms (org "bench") to the stack's platform."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(Firm)
                .where(col(Firm.platform_org_id) == "bench")
                .values(platform_org_id=platform_org_id)
            )
        # Back into the database file (outside any transaction): the job reads the rewritten
        # firm pages from the file, as it reads the template's, not from the WAL.
        with engine.connect() as conn:
            sqlite = conn.connection.driver_connection
            sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    finally:
        engine.dispose()


def _batch_rows(quick: bool) -> list[Row]:
    n = 5_000 if quick else 100_000
    # A copy of the template is the credit database of a stack of its own.
    db = BENCH_DIR / "batch-credit.db"
    url = f"sqlite:///{db}"
    shutil.copyfile(_batch_template(n), db)
    try:
        raw_rows, raw_s = _raw_read(url)
        bench = BenchStack.start("batch", urls={"credit": url})
        try:
            _give_firms(url, bench.platform_org_id)
            workers = _pool_workers(bench.stack.url("credit"))
            job = _batch_job(bench)
        finally:
            bench.stop()
    finally:
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)
    started = datetime.fromisoformat(job["started_at"])
    elapsed = (datetime.fromisoformat(job["finished_at"]) - started).total_seconds()
    rate = job["firms_scored"] / elapsed
    raw_rate = n / raw_s
    return [
        Row(
            "batch_scoring_firms_per_s",
            round(rate, 1),
            "firms/s",
            round(rate / raw_rate, 3),
            20_000,
            note=f"{job['firms_scored']} firms in {elapsed:.1f} s (the job's started_at to "
            f"finished_at), a job created and polled through the gateway; {workers} worker "
            f"processes (SMEFIN_CREDIT_BATCH_WORKERS), their pool started at service boot "
            f"(awaited on /metrics before the job); raw read of {raw_rows} metric rows in one "
            f"thread {raw_rate:.0f} firms/s",
        )
    ]


def _train_rows(quick: bool) -> list[Row]:
    n = 5_000 if quick else 50_000
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"train-{n}-{SEED}.joblib"
    if path.exists():
        data = joblib.load(path)
    else:
        data = generated_training_set(n, SEED, "2026-11", LATENCY_PARAMS)
        joblib.dump(data, path)
    start = time.perf_counter()
    fits = fit_kinds(data, (CHAMPION_KIND,))
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data.X, data.y)
    plain = time.perf_counter() - start
    return [
        Row(
            "train_50k_s",
            round(elapsed, 2),
            "s",
            round(elapsed / plain, 2),
            None,
            note=f"{n} applications, scorecard fit + holdout metrics, "
            f"auc {fits[0].metrics['auc']}; standardised logistic regression {plain:.2f} s",
        )
    ]


def run(bench: BenchStack, quick: bool) -> list[Row]:
    """Every credit model row of the run."""
    return _latency_rows(bench, quick) + _batch_rows(quick) + _train_rows(quick)
