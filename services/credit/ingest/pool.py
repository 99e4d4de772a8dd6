"""Ingest bulk NDJSON and CSV in worker processes: each block of lines is parsed, validated and
written (raw rows and metrics, one transaction) by one worker; the request only reads the body.

Parsing and validating a row costs about as much CPU as inserting it, and Python threads share
one interpreter lock: processes are the only way to use every core. A worker writes the rows it
validated itself, so rows never travel between processes (pickling them cost as much as a
quarter of the validation); only the block's lines go out and a small result comes back. At
most a few blocks are in flight, so memory stays bounded whatever the upload's size. Writers
serialise on the database's own locks (SQLite's write lock; PostgreSQL's firm row locks, taken
in id order), so blocks commit in any order and each stays whole.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository
from services.credit.ingest.parsers import CsvDecoder, NdjsonDecoder
from services.credit.ingest.rows import COL_FIRM, COL_TXN_ID
from services.credit.ingest.validator import RejectedRow, Validator
from services.credit.ingest.writer import write_chunk
from shared.db import make_engine
from shared.request_context import set_request_id

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
PARENT_POLL_S = 1.0


@dataclass(frozen=True)
class UploadContext:
    """What a validation process needs to know about an upload (picklable)."""

    upload_id: str
    database_url: str
    platform_org_id: str
    buyer_key: bytes
    tolerance: timedelta
    request_id: str | None = None


@dataclass
class BlockResult:
    """What one block of lines became, once committed (or rejected row by row)."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    # Rows refused by validation and conflicting duplicates: (line, field, reason, txn_id).
    rejected: list[RejectedRow] = field(default_factory=list)
    # Firms that received new rows (early-warning checks run on them after the commit).
    firm_ids: set[int] = field(default_factory=set)


def reset_broken_pool(broken: ProcessPoolExecutor) -> None:
    """Forget a pool whose worker died (killed, out of memory): the next upload starts anew."""
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def pool(workers: int) -> ProcessPoolExecutor | None:
    """The process-wide validation pool (started on first use), or None when workers is 0."""
    global _pool
    if workers <= 0:
        return None
    with _pool_lock:
        if _pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload([__name__])
            _pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
            # Start every worker now (one is started per task that finds none idle), so that
            # the first large upload does not pay for start-up halfway through.
            for started in [_pool.submit(os.getpid) for _ in range(workers)]:
                started.result()
        return _pool


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The state follows the command name in parentheses; Z is a zombie: gone.
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (FileNotFoundError, IndexError):
        return False


def watch_parent(pid: int) -> None:
    """(In a worker) exit once the credit process is gone, however it went (even SIGKILL).

    A pool worker holds both ends of its task pipe, so it never sees the parent leave; and
    the forkserver lives as long as any worker does. Without this they would be orphans.
    """

    def watch() -> None:
        while _alive(pid):
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# Worker-process state: one engine per database, the validators of recent uploads.
_engines: dict[str, Engine] = {}
_validators: OrderedDict[str, Validator] = OrderedDict()
RECENT_UPLOADS = 8
RECENT_DATABASES = 4


def _validator(ctx: UploadContext, now: datetime) -> Validator:
    found = _validators.get(ctx.upload_id)
    if found is not None:
        _validators.move_to_end(ctx.upload_id)
        return found
    engine = _engines.get(ctx.database_url)
    if engine is None:
        while len(_engines) >= RECENT_DATABASES:
            _engines.pop(next(iter(_engines))).dispose()
        engine = _engines[ctx.database_url] = make_engine(ctx.database_url, pool_size=2)

    def lookup(refs: list[str]) -> dict[str, tuple[int, str]]:
        with Session(engine) as session:
            return repository.firm_ids_by_ref(session, ctx.platform_org_id, refs)

    validator = Validator(ctx.platform_org_id, ctx.buyer_key, now, ctx.tolerance, lookup)
    _validators[ctx.upload_id] = validator
    while len(_validators) > RECENT_UPLOADS:
        _validators.popitem(last=False)
    return validator


def ingest_block(
    ctx: UploadContext,
    first_line: int,
    block: bytes,
    too_long: tuple[int, ...],
    now: datetime,
    csv_header: list[str] | None = None,
) -> BlockResult:
    """(In a worker) parse, validate and write complete lines numbered from first_line: NDJSON,
    or CSV rows under the upload's header when one is given."""
    set_request_id(ctx.request_id)  # events written here name the upload's request
    # A block makes some 20 objects a row, nearly all acyclic and dead once it is written:
    # with the collector on, its repeated passes over them cost a third of the block's CPU.
    # Whatever cycles a block leaves are collected once it is enabled again.
    gc.disable()
    try:
        return _ingest_block(ctx, first_line, block, too_long, now, csv_header)
    finally:
        gc.enable()


def _ingest_block(
    ctx: UploadContext,
    first_line: int,
    block: bytes,
    too_long: tuple[int, ...],
    now: datetime,
    csv_header: list[str] | None,
) -> BlockResult:
    lines: list[bytes | None] = list(block.split(b"\n"))
    for i in too_long:
        lines[i] = None
    if csv_header is None:
        parsed = NdjsonDecoder.parse_lines(first_line, lines)
    else:
        parsed = CsvDecoder(csv_header).parse_lines(first_line, lines)
    validated = _validator(ctx, now).validate(parsed, now)
    result = BlockResult(received=validated.received, rejected=validated.rejected)
    rows = validated.rows
    outcome = write_chunk(_engines[ctx.database_url], ctx.platform_org_id, rows)
    result.inserted, result.duplicates = outcome.inserted, outcome.duplicates
    for pos, reason in outcome.conflicts:
        result.rejected.append((validated.lines[pos], "txn_id", reason, rows[pos][COL_TXN_ID]))
    if outcome.inserted:
        result.firm_ids = {row[COL_FIRM] for row in rows}
    return result
