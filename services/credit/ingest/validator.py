"""Turn parsed rows into stored tuples and rejections: the per-row loop of an upload.

Runs in the request's worker thread, or in a validation process (pool.py); it touches the
database only to look firms up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.credit.ingest.localtime import LocalCalendar
from services.credit.ingest.rows import RawTxn, RowCleaner, RowError, StoredRow

# A parsed row: its line and the row (a RawTxn; any JSON value from a JSON array) or why the
# line could not be parsed.
ParsedRow = tuple[int, RawTxn | RowError | Any]
# (line, field, reason, txn_id)
RejectedRow = tuple[int, str, str, str | None]
# Many firm_refs at once -> (firm id, time zone) of those that exist.
FirmLookup = Callable[[list[str]], dict[str, tuple[int, str]]]
# Enough firms for any one upload; a stream of made-up firm_refs cannot grow memory without end.
FIRM_CACHE_MAX = 50_000
LOOKUP_BATCH = 500


@dataclass
class Validated:
    """What a batch of parsed rows became."""

    received: int = 0
    rows: list[StoredRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)


class Validator:
    """Per-upload validation state: the row cleaner, time zone calendars and known firms."""

    def __init__(
        self,
        platform_org_id: str,
        buyer_key: bytes,
        now: datetime,
        tolerance: timedelta,
        lookup: FirmLookup,
    ) -> None:
        self.cleaner = RowCleaner(platform_org_id, buyer_key, now, tolerance)
        self._lookup_firm = lookup
        self._calendars: dict[str, LocalCalendar] = {}
        # firm_ref -> (firm id, its calendar), or None when the platform has no such firm.
        self._firms: dict[str, tuple[int, LocalCalendar] | None] = {}
        # The batch being validated, until its unknown firms have been looked up, and the
        # position reached in it.
        self._batch: list[ParsedRow] = []
        self._row = 0

    def _calendar(self, tz: str) -> LocalCalendar:
        cal = self._calendars.get(tz)
        if cal is None:
            cal = self._calendars[tz] = LocalCalendar(tz)
        return cal

    def bind_firm(self, firm_ref: str, firm_id: int, tz: str) -> None:
        """Pre-resolve a firm (the per-firm route knows it up front)."""
        self._firms[firm_ref] = (firm_id, self._calendar(tz))

    def _prefetch(self, parsed: list[ParsedRow]) -> None:
        """Look up every firm_ref of a batch not yet known, in one query per 500 (on the first
        unknown firm of a batch: a batch of known firms pays nothing)."""
        self._batch = []
        known = self._firms
        # Bulk rows only: a JSON array (dict items) always names its firm in the path.
        refs = {item.firm_ref for _, item in parsed if isinstance(item, RawTxn)}
        wanted = sorted(r for r in refs if type(r) is str and r and r not in known)
        if not wanted:
            return
        if len(known) + len(wanted) > FIRM_CACHE_MAX:
            known.clear()
        for i in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[i : i + LOOKUP_BATCH]
            found = self._lookup_firm(batch)
            for ref in batch:
                hit = found.get(ref)
                known[ref] = (hit[0], self._calendar(hit[1])) if hit else None

    def _firm(self, item: RawTxn, bound: str | None) -> tuple[int, LocalCalendar]:
        ref = item.firm_ref
        if bound is not None:
            if ref is not None and ref != bound:
                raise RowError("firm_ref", f"{str(ref)[:40]!r} differs from the firm in the path")
            ref = bound
        elif type(ref) is not str or not ref:
            raise RowError("firm_ref", "is required on every row of a bulk upload")
        firm = self._firms.get(ref)
        if firm is None and ref not in self._firms:
            if self._batch:
                # Rows before this one named known firms: look up from here on.
                self._prefetch(self._batch[self._row :])
                return self._firm(item, bound)
            hit = self._lookup_firm([ref]).get(ref)
            firm = self._firms[ref] = (hit[0], self._calendar(hit[1])) if hit else None
        if firm is None:
            raise RowError("firm_ref", f"{ref[:40]!r} is not a firm of this platform")
        return firm

    def validate(
        self, parsed: Iterable[ParsedRow], now: datetime, firm_ref: str | None = None
    ) -> Validated:
        """Clean every parsed row; each row names its firm unless firm_ref is given for all."""
        self.cleaner.set_now(now)
        if firm_ref is None:
            parsed = self._batch = list(parsed)
        clean = self.cleaner.clean
        known = self._firms
        out = Validated()
        rows, lines, rejected = out.rows, out.lines, out.rejected
        for pos, (line, item) in enumerate(parsed):
            if type(item) is not RawTxn:
                if type(item) is dict:
                    item = RawTxn.from_mapping(item)
                elif isinstance(item, RowError):
                    rejected.append((line, item.field, item.reason, None))
                    continue
                else:
                    rejected.append((line, "", "row must be a JSON object", None))
                    continue
            # The usual row names a firm already known: one lookup, no call.
            ref = item.firm_ref
            firm = known.get(ref) if firm_ref is None and type(ref) is str else None
            try:
                if firm is None:
                    self._row = pos
                    firm = self._firm(item, firm_ref)
                rows.append(clean(item, firm[0], firm[1]))
            except RowError as err:
                txn_id = item.txn_id
                rejected.append(
                    (line, err.field, err.reason, txn_id if type(txn_id) is str else None)
                )
                continue
            lines.append(line)
        out.received = len(lines) + len(rejected)
        self._batch = []
        return out
