"""Validate NDJSON in a separate process, so that validation runs on one core while the
request's threads write the previous chunks to the database on the other.

Parsing and validating a row costs about as much CPU as inserting it, and Python threads share
one interpreter lock: a process is the only way the two halves overlap. Rows travel back as
plain tuples; order is kept (results are taken in submission order) and at most a few blocks
are in flight, so memory stays bounded whatever the upload's size.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from services.credit import repository
from services.credit.ingest.parsers import NdjsonDecoder
from services.credit.ingest.validator import Validated, Validator
from shared.process_pool import LazyProcessPool, worker_engine

_pool = LazyProcessPool(modules=[__name__])


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
    _pool.reset(broken)


def pool(workers: int) -> ProcessPoolExecutor | None:
    """The process-wide validation pool (started on first use), or None when workers is 0."""
    return _pool.get(workers)


# Worker-process state: the validators of recent uploads.
_validators: OrderedDict[str, Validator] = OrderedDict()
RECENT_UPLOADS = 8


def _validator(ctx: UploadContext, now: datetime) -> Validator:
    found = _validators.get(ctx.upload_id)
    if found is not None:
        _validators.move_to_end(ctx.upload_id)
        return found
    engine = worker_engine(ctx.database_url)

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
