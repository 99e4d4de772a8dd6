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

import gc
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from services.credit import repository
from services.credit.ingest.parsers import CsvDecoder, NdjsonDecoder
from services.credit.ingest.rows import COL_TXN_ID
from services.credit.ingest.validator import RejectedRow, Validator
from services.credit.ingest.writer import write_chunk
from shared.process_pool import LazyProcessPool, worker_engine
from shared.request_context import set_request_id

_pool = LazyProcessPool("ingest", modules=[__name__])


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
    _pool.reset(broken)


def pool(workers: int) -> ProcessPoolExecutor | None:
    """The process-wide ingest pool, every worker started (so that the first large upload does
    not pay for start-up halfway through), or None when workers is 0."""
    return _pool.ready(workers)


def prestart(workers: int) -> None:
    """Start the ingest pool in the background (at service boot); never waits for it."""
    _pool.started(workers)


# Worker-process state: the validators of recent uploads.
_validators: OrderedDict[str, Validator] = OrderedDict()
RECENT_UPLOADS = 8


def _validator(ctx: UploadContext, now: datetime) -> Validator:
    found = _validators.get(ctx.upload_id)
    if found is not None:
        _validators.move_to_end(ctx.upload_id)
        return found
    engine = worker_engine(ctx.database_url)

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
    del lines  # each stage's input is let go once the next stage has it: a lower peak
    validated = _validator(ctx, now).validate(parsed, now)
    del parsed
    result = BlockResult(received=validated.received, rejected=validated.rejected)
    rows = validated.rows
    outcome = write_chunk(worker_engine(ctx.database_url), ctx.platform_org_id, rows)
    result.inserted, result.duplicates = outcome.inserted, outcome.duplicates
    for pos, reason in outcome.conflicts:
        result.rejected.append((validated.lines[pos], "txn_id", reason, rows[pos][COL_TXN_ID]))
    if outcome.inserted:
        result.firm_ids = set(outcome.firm_ids)
    return result
