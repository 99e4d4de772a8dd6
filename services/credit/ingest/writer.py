"""Write one chunk of clean rows: raw rows and their monthly metrics in the same transaction.

Raw rows go in through the DBAPI cursor (sqlite3 executemany, PostgreSQL COPY): on the hot
path SQLAlchemy's per-row work costs more than the insert itself. The chunk is first tried as
if every row were new, inside a savepoint; only when the unique key (platform, txn_id) objects
are the stored rows read back to tell duplicates (same content) from conflicts (other content).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from services.credit.ingest import metrics
from services.credit.ingest.rows import (
    COL_AMOUNT,
    COL_BUYER,
    COL_CATEGORY,
    COL_CHANNEL,
    COL_CURRENCY,
    COL_FIRM,
    COL_OCCURRED,
    COL_ORDER,
    COL_REFUND_OF,
    COL_TXN_ID,
    COL_TYPE,
    StoredRow,
)
from services.credit.ingest.sql import Dialect, dialect_of, in_batches
from services.credit.models import Firm
from shared.db import write_session
from shared.outbox import emit

RAW_COLUMNS = (
    "platform_org_id",
    "firm_id",
    "txn_id",
    "type",
    "occurred_at",
    "local_month",
    "local_day",
    "amount_minor",
    "currency",
    "order_ref",
    "buyer_hash",
    "channel",
    "category",
    "refund_of",
    "ingested_at",
)
# What a platform said about an event; two rows with one txn_id and these equal are one event.
CONTENT = (
    COL_FIRM,
    COL_TYPE,
    COL_OCCURRED,
    COL_AMOUNT,
    COL_CURRENCY,
    COL_ORDER,
    COL_BUYER,
    COL_CHANNEL,
    COL_CATEGORY,
    COL_REFUND_OF,
)
CONTENT_NAMES = [RAW_COLUMNS[i] for i in CONTENT]
CONFLICT_REASON = "txn_id already stored with different {fields} (transactions are immutable)"
RETRIES = 3


@dataclass
class ChunkOutcome:
    """What happened to a chunk: inserted, duplicates, and conflicts by row position."""

    inserted: int = 0
    duplicates: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)
    # Firms that received new rows (early-warning checks run on them after the commit).
    firm_ids: list[int] = field(default_factory=list)


_txn_id = itemgetter(COL_TXN_ID)
_firm_id = itemgetter(COL_FIRM)


def _content(row: StoredRow) -> tuple[Any, ...]:
    return tuple(row[i] for i in CONTENT)


def _utc_text(value: Any) -> str:
    """Stored occurred_at as the text rows carry (SQLite keeps that text; PostgreSQL a datetime)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return str(value)


def _conflict_reason(stored: tuple[Any, ...], row: StoredRow) -> str:
    differing = [n for n, a, b in zip(CONTENT_NAMES, stored, _content(row), strict=True) if a != b]
    names = ["buyer_ref" if n == "buyer_hash" else n for n in differing] or ["content"]
    return CONFLICT_REASON.format(fields=", ".join(names))


def _insert_raw(dialect: Dialect, cur: Any, rows: list[StoredRow]) -> None:
    if dialect.postgres:
        with cur.copy(f"COPY sales_transaction ({', '.join(RAW_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(RAW_COLUMNS))
        cur.executemany(
            f"INSERT INTO sales_transaction ({', '.join(RAW_COLUMNS)}) VALUES ({marks})",  # noqa: S608
            rows,
        )


def _stored(
    dialect: Dialect, cur: Any, platform_org_id: str, txn_ids: list[str]
) -> dict[str, tuple[Any, ...]]:
    found: dict[str, tuple[Any, ...]] = {}
    cols = ", ".join(CONTENT_NAMES)
    for batch in in_batches(txn_ids):
        cur.execute(
            f"SELECT txn_id, {cols} FROM sales_transaction "  # noqa: S608
            f"WHERE platform_org_id = {dialect.mark} AND txn_id IN ({dialect.marks(len(batch))})",
            [platform_org_id, *batch],
        )
        for txn_id, firm_id, kind, occurred, *rest in cur.fetchall():
            found[txn_id] = (firm_id, kind, _utc_text(occurred), *rest)
    return found


def _lock_firms(dialect: Dialect, cur: Any, firm_ids: list[int]) -> None:
    # Metric read-modify-write below must not interleave with another chunk of the same firm;
    # locking in id order means concurrent chunks queue instead of deadlocking.
    marks = dialect.marks(len(firm_ids))
    if dialect.postgres:
        cur.execute(
            f"SELECT id FROM firm WHERE id IN ({marks}) ORDER BY id FOR UPDATE",  # noqa: S608
            firm_ids,
        )
    cur.execute(
        f"UPDATE firm SET metrics_version = metrics_version + 1 WHERE id IN ({marks})",  # noqa: S608
        firm_ids,
    )


def _try_fast(dialect: Dialect, cur: Any, rows: list[StoredRow]) -> bool:
    """Insert every row as new inside a savepoint; False (and nothing kept) on a key collision."""
    cur.execute("SAVEPOINT ingest_fast")
    try:
        _insert_raw(dialect, cur, rows)
    except dialect.integrity_errors:
        cur.execute("ROLLBACK TO SAVEPOINT ingest_fast")
        cur.execute("RELEASE SAVEPOINT ingest_fast")
        return False
    cur.execute("RELEASE SAVEPOINT ingest_fast")
    return True


def write_chunk(engine: Engine, platform_org_id: str, rows: list[StoredRow]) -> ChunkOutcome:
    """Insert new rows, count duplicates, report conflicts; update metrics in the same commit."""
    outcome = ChunkOutcome()
    if not rows:
        return outcome
    # Repeats inside the chunk itself are settled first, so the database sees each id once
    # (one set, built in C, says whether there are any: usually there are none).
    if len(set(map(_txn_id, rows))) == len(rows):
        return _write_unique(engine, platform_org_id, rows, outcome, range(len(rows)))
    first: dict[str, int] = {}
    unique: list[int] = []
    for pos, row in enumerate(rows):
        earlier = first.get(row[COL_TXN_ID])
        if earlier is None:
            first[row[COL_TXN_ID]] = pos
            unique.append(pos)
        elif _content(rows[earlier]) == _content(row):
            outcome.duplicates += 1
        else:
            outcome.conflicts.append((pos, _conflict_reason(_content(rows[earlier]), row)))
    return _write_unique(engine, platform_org_id, [rows[p] for p in unique], outcome, unique)


def _write_unique(
    engine: Engine,
    platform_org_id: str,
    candidates: list[StoredRow],
    outcome: ChunkOutcome,
    unique: Sequence[int],
) -> ChunkOutcome:
    """Write rows with distinct txn_ids (unique: their positions in the chunk)."""
    # Aggregated before taking the write lock: writers queue for it, so what can be done
    # outside it is done outside (an attempt consumes them; a retry aggregates again).
    aggregates: metrics.Aggregates | None = metrics.aggregate(candidates)
    for attempt in range(RETRIES):
        try:
            with writers_turn(engine):
                fresh, dupes, conflicts, firm_ids = _write(
                    engine, platform_org_id, candidates, aggregates
                )
            break
        except DBAPIError as exc:
            # Only a concurrent upload of the same ids can get here (PostgreSQL): retrying
            # reads what the other upload committed.
            if attempt == RETRIES - 1 or not _is_integrity(exc):
                raise
            aggregates = None
    outcome.inserted = fresh
    outcome.firm_ids = firm_ids
    outcome.duplicates += dupes
    outcome.conflicts += [(unique[i], reason) for i, reason in conflicts]
    outcome.conflicts.sort()
    return outcome


def _is_integrity(exc: DBAPIError) -> bool:
    return "unique" in str(exc.orig).lower() or "integrity" in type(exc.orig).__name__.lower()


@contextmanager
def writers_turn(engine: Engine) -> Iterator[None]:
    """Ingest writers of one SQLite file take turns through a file lock.

    SQLite lets one writer in at a time; a writer that finds the lock taken polls it with
    sleeps of up to 100 ms (busy_timeout), idling a core that long after the lock is free. A
    blocking flock hands the turn over at once. Other writers still queue on busy_timeout;
    PostgreSQL writers work concurrently and need no turn.
    """
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    fd = os.open(f"{path}.ingest-lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write(
    engine: Engine,
    platform_org_id: str,
    rows: list[StoredRow],
    aggregates: metrics.Aggregates | None,
) -> tuple[int, int, list[tuple[int, str]], list[int]]:
    """(inserted, duplicates, conflicts by position, ids of the firms with new rows)."""
    firm_ids = sorted(set(map(_firm_id, rows)))
    with write_session(engine) as session:
        conn = session.connection()
        dialect = dialect_of(conn)
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None
        cur = dbapi_conn.cursor()
        try:
            if dialect.postgres:
                # COPY and the reads below carry UTC wall-clock text.
                cur.execute("SET LOCAL TimeZone = 'UTC'")
            _lock_firms(dialect, cur, firm_ids)
            dupes = 0
            conflicts: list[tuple[int, str]] = []
            if _try_fast(dialect, cur, rows):
                fresh = rows
            else:
                aggregates = None
                stored = _stored(dialect, cur, platform_org_id, [r[COL_TXN_ID] for r in rows])
                fresh = []
                for pos, row in enumerate(rows):
                    prior = stored.get(row[COL_TXN_ID])
                    if prior is None:
                        fresh.append(row)
                    elif prior == _content(row):
                        dupes += 1
                    else:
                        conflicts.append((pos, _conflict_reason(prior, row)))
                if fresh:
                    _insert_raw(dialect, cur, fresh)
            if fresh:
                if aggregates is None:
                    aggregates = metrics.aggregate(fresh)
                metrics.apply(dialect, cur, aggregates)
        finally:
            cur.close()
        if fresh is not rows:
            firm_ids = sorted(set(map(_firm_id, fresh)))
        if fresh:
            _emit_ingested(session, platform_org_id, firm_ids, len(fresh), dupes, len(conflicts))
        session.commit()
    return len(fresh), dupes, conflicts, firm_ids


def _emit_ingested(
    session: Session,
    platform_org_id: str,
    firm_ids: list[int],
    inserted: int,
    dupes: int,
    conflicts: int,
) -> None:
    # The platform hears of every stored chunk, in the chunk's own transaction (outbox).
    refs = session.execute(select(col(Firm.firm_ref)).where(col(Firm.id).in_(firm_ids))).scalars()
    emit(
        session,
        org_ids=[platform_org_id],
        type="transactions.ingested",
        data={
            "firm_refs": sorted(refs),
            "inserted": inserted,
            "duplicates": dupes,
            "conflicts": conflicts,
        },
    )
