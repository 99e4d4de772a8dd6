"""Ingest use cases: a JSON array for one firm, or a stream of rows naming their firms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import early_warning, repository
from services.credit.config import CreditSettings
from services.credit.ingest.rows import CleanRow, RowError, clean_row, localise
from services.credit.ingest.writer import write_chunk
from services.credit.schemas import IngestReport, Rejection
from shared.db import utcnow

ParsedRow = tuple[int, dict[str, Any] | RowError]


class Ingestor:
    """Validate rows, write them in chunks (each chunk one transaction) and keep the report."""

    def __init__(self, engine: Engine, settings: CreditSettings, platform_org_id: str) -> None:
        self.engine = engine
        self.settings = settings
        self.platform_org_id = platform_org_id
        self.report = IngestReport()
        self._pending: list[tuple[int, CleanRow]] = []
        self._buyer_key = settings.buyer_hash_key.get_secret_value().encode()
        self._tolerance = timedelta(seconds=settings.future_tolerance_s)
        self._now = utcnow()
        # firm_ref -> (firm id, time zone), or None when the platform has no such firm.
        self._firms: dict[str, tuple[int, str] | None] = {}

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
        self._firms[firm_ref] = (firm_id, tz)

    def _resolve(self, refs: set[str]) -> None:
        missing = [r for r in refs if r not in self._firms]
        if not missing:
            return
        with Session(self.engine) as session:
            found = repository.firm_ids_by_ref(session, self.platform_org_id, missing)
        for ref in missing:
            self._firms[ref] = found.get(ref)

    def add(self, parsed: Iterable[ParsedRow], firm_ref: str | None = None) -> None:
        """Validate rows; each row names its firm unless firm_ref is given for all."""
        batch: list[tuple[int, dict[str, Any], CleanRow]] = []
        self._now = utcnow()
        for line, item in parsed:
            self.report.received += 1
            if isinstance(item, RowError):
                self.reject(line, item.field, item.reason)
                continue
            try:
                row = clean_row(
                    item, now=self._now, tolerance=self._tolerance, buyer_key=self._buyer_key
                )
                ref = firm_ref if firm_ref is not None else item.get("firm_ref")
                if not isinstance(ref, str) or not ref:
                    raise RowError("firm_ref", "is required on every row of a bulk upload")
            except RowError as err:
                txn_id = item.get("txn_id") if isinstance(item.get("txn_id"), str) else None
                self.reject(line, err.field, err.reason, txn_id)
                continue
            item["firm_ref"] = ref
            batch.append((line, item, row))
        self._resolve({item["firm_ref"] for _, item, _ in batch})
        for line, item, row in batch:
            firm = self._firms.get(item["firm_ref"])
            if firm is None:
                self.reject(line, "firm_ref", "unknown firm_ref for this platform", row.txn_id)
                continue
            localise(row, firm[0], firm[1])
            self._pending.append((line, row))
        if len(self._pending) >= self.settings.ingest_chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows as one transaction."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        outcome = write_chunk(self.engine, self.platform_org_id, [r for _, r in pending])
        early_warning.after_chunk(self.engine, self.platform_org_id, (r for _, r in pending))
        self.report.inserted += outcome.inserted
        self.report.duplicates += outcome.duplicates
        for pos, reason in outcome.conflicts:
            line, row = pending[pos]
            self.reject(line, "txn_id", reason, row.txn_id)

    def finish(self) -> IngestReport:
        """Flush and return the report, rejections in line order."""
        self.flush()
        self.report.rejections.sort(key=lambda r: r.line)
        return self.report
