"""Ingest use case: validate rows, write them in chunks (each one transaction), keep the report."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import early_warning, repository
from services.credit.config import CreditSettings
from services.credit.ingest.pool import BlockResult
from services.credit.ingest.rows import COL_TXN_ID, StoredRow
from services.credit.ingest.validator import ParsedRow, Validated, Validator
from services.credit.ingest.writer import ChunkOutcome, write_chunk
from services.credit.schemas import IngestReport, Rejection
from shared.db import utcnow
from shared.domain_metrics import EVENTS_EMITTED, TRANSACTIONS_INGESTED


class Ingestor:
    """Validate rows, write them in chunks (each chunk one transaction) and keep the report."""

    def __init__(self, engine: Engine, settings: CreditSettings, platform_org_id: str) -> None:
        self.engine = engine
        self.settings = settings
        self.platform_org_id = platform_org_id
        self.report = IngestReport()
        self._rows: list[StoredRow] = []
        self._lines: list[int] = []
        self.buyer_key = settings.buyer_hash_key.get_secret_value().encode()
        self.tolerance = timedelta(seconds=settings.future_tolerance_s)
        self.validator = Validator(
            platform_org_id, self.buyer_key, utcnow(), self.tolerance, self.lookup_firm
        )
        self._writer: ThreadPoolExecutor | None = None
        self._in_flight: tuple[Future[ChunkOutcome], list[StoredRow], list[int]] | None = None

    def lookup_firm(self, refs: list[str]) -> dict[str, tuple[int, str]]:
        """firm_ref -> (firm id, time zone) of those of the platform's firms that exist."""
        with Session(self.engine) as session:
            return repository.firm_ids_by_ref(session, self.platform_org_id, refs)

    def reject(self, line: int, field: str, reason: str, txn_id: str | None = None) -> None:
        """Count a rejected row and list it while the list is short."""
        self.report.rejected += 1
        if len(self.report.rejections) < self.settings.max_listed_rejections:
            self.report.rejections.append(
                Rejection(line=line, field=field, reason=reason, txn_id=txn_id)
            )
        else:
            self.report.rejections_truncated = True

    def bind_firm(self, firm_ref: str, firm_id: int, tz: str) -> None:
        """Pre-resolve a firm (the per-firm route knows it up front)."""
        self.validator.bind_firm(firm_ref, firm_id, tz)

    def add(self, parsed: Iterable[ParsedRow], firm_ref: str | None = None) -> None:
        """Validate rows here; each row names its firm unless firm_ref is given for all."""
        self.add_validated(self.validator.validate(parsed, utcnow(), firm_ref))

    def add_validated(self, batch: Validated) -> None:
        """Take rows validated here or in a validation process; write full chunks."""
        self.report.received += batch.received
        for line, field, reason, txn_id in batch.rejected:
            self.reject(line, field, reason, txn_id)
        chunk = self.settings.ingest_chunk_rows
        rows, lines = batch.rows, batch.lines
        start = 0
        while start < len(rows):
            room = chunk - len(self._rows)
            self._rows.extend(rows[start : start + room])
            self._lines.extend(lines[start : start + room])
            start += room
            if len(self._rows) >= chunk:
                self.flush()

    def flush(self) -> None:
        """Hand the pending rows to the writer thread as one transaction (one chunk in flight).

        Validating the next chunk while the database writes this one uses the second core:
        sqlite3 and psycopg release the GIL while the database works.
        """
        if not self._rows:
            return
        rows, lines = self._rows, self._lines
        self._rows, self._lines = [], []
        self._settle()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer")
        # The writer thread runs in the request's context, so its events carry the request id.
        future = self._writer.submit(
            contextvars.copy_context().run, write_chunk, self.engine, self.platform_org_id, rows
        )
        self._in_flight = (future, rows, lines)

    def discard_pending(self) -> None:
        """Drop validated rows not yet handed to the writer (the upload is being abandoned)."""
        self._rows, self._lines = [], []

    def _settle(self) -> None:
        if self._in_flight is None:
            return
        future, rows, lines = self._in_flight
        self._in_flight = None
        outcome = future.result()
        if outcome.inserted:
            self._committed(outcome.inserted, set(outcome.firm_ids))
        self.report.inserted += outcome.inserted
        self.report.duplicates += outcome.duplicates
        for pos, reason in outcome.conflicts:
            self.reject(lines[pos], "txn_id", reason, rows[pos][COL_TXN_ID])

    def _committed(self, inserted: int, firm_ids: set[int]) -> None:
        TRANSACTIONS_INGESTED.inc(inserted)
        # Committed: monitored firms of this chunk are checked for early warnings.
        early_warning.after_firms(self.engine, self.platform_org_id, firm_ids)

    def add_block_result(self, result: BlockResult) -> None:
        """Take a block that a worker process validated and committed (pool.py)."""
        self.report.received += result.received
        self.report.inserted += result.inserted
        self.report.duplicates += result.duplicates
        for line, field, reason, txn_id in result.rejected:
            self.reject(line, field, reason, txn_id)
        if result.inserted:
            # The worker's own counters are not the ones /metrics serves: count here.
            EVENTS_EMITTED.labels("transactions.ingested").inc()
            self._committed(result.inserted, result.firm_ids)

    def close(self) -> None:
        """Wait for the chunk in flight (it commits or not as a whole) and stop the writer."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def finish(self) -> IngestReport:
        """Write what is pending, wait for it, and return the report, rejections in line order."""
        try:
            self.flush()
            self._settle()
        finally:
            self.close()
        self.report.rejections.sort(key=lambda r: r.line)
        return self.report
