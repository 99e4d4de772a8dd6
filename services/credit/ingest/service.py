"""Ingest use case: validate rows, write them in chunks (each one transaction), keep the report."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository
from services.credit.config import CreditSettings
from services.credit.ingest.localtime import LocalCalendar
from services.credit.ingest.rows import COL_TXN_ID, RowCleaner, RowError, StoredRow
from services.credit.ingest.writer import ChunkOutcome, write_chunk
from services.credit.schemas import IngestReport, Rejection
from shared.db import utcnow

ParsedRow = tuple[int, dict[str, Any] | RowError]
# Enough firms for any one upload; a stream of made-up firm_refs cannot grow memory without end.
FIRM_CACHE_MAX = 50_000


class Ingestor:
    """Validate rows, write them in chunks (each chunk one transaction) and keep the report."""

    def __init__(self, engine: Engine, settings: CreditSettings, platform_org_id: str) -> None:
        self.engine = engine
        self.settings = settings
        self.platform_org_id = platform_org_id
        self.report = IngestReport()
        self._rows: list[StoredRow] = []
        self._lines: list[int] = []
        self._cleaner = RowCleaner(
            platform_org_id,
            settings.buyer_hash_key.get_secret_value().encode(),
            utcnow(),
            timedelta(seconds=settings.future_tolerance_s),
        )
        self._calendars: dict[str, LocalCalendar] = {}
        # firm_ref -> (firm id, its calendar), or None when the platform has no such firm.
        self._firms: dict[str, tuple[int, LocalCalendar] | None] = {}
        self._writer: ThreadPoolExecutor | None = None
        self._in_flight: tuple[Future[ChunkOutcome], list[StoredRow], list[int]] | None = None

    def reject(self, line: int, field: str, reason: str, txn_id: str | None = None) -> None:
        """Count a rejected row and list it while the list is short."""
        self.report.rejected += 1
        if len(self.report.rejections) < self.settings.max_listed_rejections:
            self.report.rejections.append(
                Rejection(line=line, field=field, reason=reason, txn_id=txn_id)
            )
        else:
            self.report.rejections_truncated = True

    def _calendar(self, tz: str) -> LocalCalendar:
        cal = self._calendars.get(tz)
        if cal is None:
            cal = self._calendars[tz] = LocalCalendar(tz)
        return cal

    def bind_firm(self, firm_ref: str, firm_id: int, tz: str) -> None:
        """Pre-resolve a firm (the per-firm route knows it up front)."""
        self._firms[firm_ref] = (firm_id, self._calendar(tz))

    def _lookup(self, ref: str) -> tuple[int, LocalCalendar] | None:
        if len(self._firms) >= FIRM_CACHE_MAX:
            self._firms.clear()
        with Session(self.engine) as session:
            found = repository.firm_ids_by_ref(session, self.platform_org_id, [ref]).get(ref)
        firm = (found[0], self._calendar(found[1])) if found else None
        self._firms[ref] = firm
        return firm

    def _firm(self, item: dict[str, Any], bound: str | None) -> tuple[int, LocalCalendar]:
        ref = item.get("firm_ref")
        if bound is not None:
            if ref is not None and ref != bound:
                raise RowError("firm_ref", f"{str(ref)[:40]!r} differs from the firm in the path")
            ref = bound
        elif type(ref) is not str or not ref:
            raise RowError("firm_ref", "is required on every row of a bulk upload")
        firm = self._firms.get(ref)
        if firm is None and (ref not in self._firms):
            firm = self._lookup(ref)
        if firm is None:
            raise RowError("firm_ref", f"{ref[:40]!r} is not a firm of this platform")
        return firm

    def add(self, parsed: Iterable[ParsedRow], firm_ref: str | None = None) -> None:
        """Validate rows; each row names its firm unless firm_ref is given for all."""
        self._cleaner.set_now(utcnow())
        clean = self._cleaner.clean
        rows, lines = self._rows, self._lines
        chunk = self.settings.ingest_chunk_rows
        received = 0
        for line, item in parsed:
            received += 1
            if type(item) is not dict:
                if isinstance(item, RowError):
                    self.reject(line, item.field, item.reason)
                else:
                    self.reject(line, "", "row must be a JSON object")
                continue
            try:
                firm_id, calendar = self._firm(item, firm_ref)
                rows.append(clean(item, firm_id, calendar))
            except RowError as err:
                txn_id = item.get("txn_id")
                self.reject(line, err.field, err.reason, txn_id if type(txn_id) is str else None)
                continue
            lines.append(line)
            if len(rows) >= chunk:
                self.report.received += received
                received = 0
                self.flush()
                rows, lines = self._rows, self._lines
        self.report.received += received

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
        future = self._writer.submit(write_chunk, self.engine, self.platform_org_id, rows)
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
        self.report.inserted += outcome.inserted
        self.report.duplicates += outcome.duplicates
        for pos, reason in outcome.conflicts:
            self.reject(lines[pos], "txn_id", reason, rows[pos][COL_TXN_ID])

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
