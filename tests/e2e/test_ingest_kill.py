"""SIGKILL the credit process in the middle of a bulk upload: metrics stay in step with the raw
rows, and sending the same file again completes the upload without counting anything twice."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from services.cli import stack as stack_mod
from services.cli.bench.ingest_bench import synthetic_rows, write_ndjson
from services.credit.ingest.recompute import disagreements
from shared.db import make_engine
from tests.conftest import TEST_SECRET, principal_headers

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]
FIRMS = 20
ROWS_PER_FIRM = 6_000
CHUNK_ROWS = 2_000


def _start_credit(db_url: str, model_dir: Path, port: int, log_dir: Path) -> stack_mod.Stack:
    env = dict(os.environ)
    env.update(
        SMEFIN_CREDIT_DATABASE_URL=db_url,
        SMEFIN_INTERNAL_SECRET=TEST_SECRET,
        SMEFIN_CREDIT_MODEL_DIR=str(model_dir),
        SMEFIN_CREDIT_INGEST_CHUNK_ROWS=str(CHUNK_ROWS),
        SMEFIN_LOG_LEVEL="WARNING",
        SMEFIN_ENV="test",
    )
    running = stack_mod.Stack(ports={"credit": port})
    stack_mod.start_process(running, "credit", env, log_dir)
    stack_mod.wait_ready(running, timeout_s=600)
    return running


def _descendants(pid: int) -> list[int]:
    tree = [pid]
    for p in tree:
        for task in Path(f"/proc/{p}/task").iterdir():
            tree.extend(int(c) for c in (task / "children").read_text().split())
    return tree[1:]


def _body(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while piece := f.read(256 * 1024):
            yield piece


def _upload(base: str, path: Path) -> httpx.Response:
    headers = principal_headers("org_p1") | {"content-type": "application/x-ndjson"}
    return httpx.post(
        base + "/v1/transactions/bulk", content=_body(path), headers=headers, timeout=600
    )


def test_kill_mid_upload_then_resend(
    make_database: Callable[[str], str], model_dir: Path, tmp_path: Path
) -> None:
    db_url = make_database("credit")
    data = tmp_path / "history.ndjson"
    total = write_ndjson(data, synthetic_rows(FIRMS, ROWS_PER_FIRM, prefix="k"))
    port = stack_mod.free_port()
    running = _start_credit(db_url, model_dir, port, tmp_path / "logs")
    base = running.url("credit")
    engine = make_engine(db_url)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for f in range(FIRMS):
                r = client.put(
                    f"/v1/firms/k{f:05d}",
                    json={"industry": "retail", "region_code": "330106"},
                    headers=principal_headers("org_p1"),
                )
                assert r.status_code == 201, r.text

        outcome: dict[str, object] = {}

        def send() -> None:
            try:
                outcome["response"] = _upload(base, data)
            except httpx.HTTPError as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        committed = 0
        deadline = time.monotonic() + 300
        while committed < 2 * CHUNK_ROWS:
            assert time.monotonic() < deadline, "upload made no progress"
            assert "response" not in outcome, "upload finished before the kill"
            time.sleep(0.05)
            with engine.connect() as conn:
                committed = conn.execute(
                    text("SELECT count(*) FROM sales_transaction")
                ).scalar_one()
        credit_pid = running.procs["credit"].pid
        helpers = _descendants(credit_pid)
        assert helpers, "bulk NDJSON is validated in a separate process"
        os.kill(credit_pid, signal.SIGKILL)
        running.procs["credit"].wait(10)
        sender.join(60)
        assert "error" in outcome or outcome["response"].status_code >= 500  # type: ignore[union-attr]

        # The validation processes notice their parent is gone and leave: no orphans.
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{p}").exists() for p in helpers):
            assert time.monotonic() < deadline, f"orphans left: {helpers}"
            time.sleep(0.2)

        with engine.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FROM sales_transaction")).scalar_one()
            firm_ids = [r[0] for r in conn.execute(text("SELECT id FROM firm"))]
        assert 0 < kept < total
        assert kept % CHUNK_ROWS == 0  # whole chunks only: nothing half-written
        for firm_id in firm_ids:
            assert disagreements(engine, firm_id) == []

        running = _start_credit(db_url, model_dir, port, tmp_path / "logs")
        r = _upload(base, data)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["received"] == total
        assert report["rejected"] == 0
        assert report["duplicates"] == kept
        assert report["inserted"] + report["duplicates"] == total
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM sales_transaction")).scalar_one()
            counted = conn.execute(
                text(
                    "SELECT sum(sales_count + refund_count + chargeback_count + payout_count"
                    " + fee_count) FROM firm_month_metric"
                )
            ).scalar_one()
        assert stored == counted == total
        for firm_id in firm_ids:
            assert disagreements(engine, firm_id) == []
    finally:
        stack_mod.stop_stack(running)
        engine.dispose()
