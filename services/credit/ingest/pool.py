"""Validate NDJSON in a separate process, so that validation runs on one core while the
request's threads write the previous chunks to the database on the other.

Parsing and validating a row costs about as much CPU as inserting it, and Python threads share
one interpreter lock: a process is the only way the two halves overlap. Rows travel back as
plain tuples; order is kept (results are taken in submission order) and at most a few blocks
are in flight, so memory stays bounded whatever the upload's size.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository
from services.credit.ingest.parsers import NdjsonDecoder
from services.credit.ingest.validator import Validated, Validator
from shared.db import make_engine

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

    def lookup(ref: str) -> tuple[int, str] | None:
        with Session(engine) as session:
            return repository.firm_ids_by_ref(session, ctx.platform_org_id, [ref]).get(ref)

    validator = Validator(ctx.platform_org_id, ctx.buyer_key, now, ctx.tolerance, lookup)
    _validators[ctx.upload_id] = validator
    while len(_validators) > RECENT_UPLOADS:
        _validators.popitem(last=False)
    return validator


def validate_block(
    ctx: UploadContext, first_line: int, block: bytes, too_long: tuple[int, ...], now: datetime
) -> Validated:
    """(In a worker) parse and validate complete NDJSON lines numbered from first_line."""
    lines: list[bytes | None] = list(block.split(b"\n"))
    for i in too_long:
        lines[i] = None
    parsed = NdjsonDecoder.parse_lines(first_line, lines)
    return _validator(ctx, now).validate(parsed, now)
