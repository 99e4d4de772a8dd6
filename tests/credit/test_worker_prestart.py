"""Worker pools at boot: started in the background when asked, so the first job does not wait."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from services.credit import app as credit_app
from services.credit.app import create_app
from services.credit.config import CreditSettings
from services.credit.ingest import pool as ingest_pool
from shared.process_pool import LazyProcessPool


@pytest.mark.parametrize("enabled", [True, False])
def test_boot_starts_the_worker_pools_only_when_asked(
    credit_settings: CreditSettings, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    # Pools of this test's own: the process-wide ones may be up already from other tests.
    pools = {
        "batch": LazyProcessPool("batch-boot-test", modules=["services.credit.batch_chunk"]),
        "ingest": LazyProcessPool("ingest-boot-test", modules=["services.credit.ingest.pool"]),
    }
    monkeypatch.setattr(credit_app, "batch_pool", pools["batch"])
    monkeypatch.setattr(ingest_pool, "_pool", pools["ingest"])
    asked: list[tuple[str, int]] = []
    for name, pool in pools.items():

        def started(workers: int, name: str = name, real: LazyProcessPool = pool) -> object:
            asked.append((name, workers))
            return LazyProcessPool.started(real, workers)

        monkeypatch.setattr(pool, "started", started)
    settings = credit_settings.model_copy(
        update={"prestart_workers": enabled, "batch_workers": 1, "ingest_workers": 1}
    )
    try:
        with TestClient(create_app(settings)) as client:
            assert client.get("/readyz").status_code == 200
            if not enabled:
                assert asked == []
                assert all(p.workers_up() == 0 for p in pools.values())
                return
            # Asked once each, without waiting: the workers come up after readiness.
            assert sorted(asked) == [("batch", 1), ("ingest", 1)]
            deadline = time.monotonic() + 120
            while not all(p.workers_up() == 1 for p in pools.values()):
                assert time.monotonic() < deadline, "the pools did not start"
                time.sleep(0.05)
            metrics = client.get("/metrics").text
            assert 'smefin_process_pool_workers{pool="batch-boot-test"} 1.0' in metrics
            assert 'smefin_process_pool_workers{pool="ingest-boot-test"} 1.0' in metrics
    finally:
        for pool in pools.values():
            if pool.workers_up():
                executor = pool.get(1)
                assert executor is not None
                pool.reset(executor)
