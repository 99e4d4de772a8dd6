"""Request-level rules of the two ways in: what makes a whole upload wrong, and the stream loop."""

from __future__ import annotations

import uuid
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import orjson
from sqlalchemy.engine import Engine

from services.credit.config import CreditSettings
from services.credit.ingest.parsers import CsvDecoder, Gunzip, NdjsonDecoder
from services.credit.ingest.pool import (
    BlockResult,
    UploadContext,
    ingest_block,
    pool,
    reset_broken_pool,
)
from services.credit.ingest.service import Ingestor
from services.credit.schemas import IngestReport
from shared.db import utcnow
from shared.errors import (
    AppError,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    field_error,
)
from shared.request_context import current_request_id

NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"}
)
CSV_TYPES = frozenset({"text/csv", "application/csv"})
ENCODINGS = frozenset({"", "identity", "gzip", "x-gzip"})
# Blocks in flight beyond one per worker: the next block is queued as soon as a worker frees.
EXTRA_IN_FLIGHT = 1


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower case."""
    return (content_type or "").split(";")[0].strip().lower()


def check_declared_size(content_length: str | None, limit: int) -> None:
    """413 before reading a body whose declared length is over the limit."""
    if content_length and content_length.strip().isdigit() and int(content_length) > limit:
        raise PayloadTooLarge(
            f"body of {int(content_length)} bytes is over the limit of {limit} bytes",
            errors=[field_error(("header", "content-length"), f"at most {limit} bytes")],
        )


def parse_json_array(body: bytes, max_rows: int) -> list[Any]:
    """The rows of a JSON array body, or a 4xx problem saying what is wrong with it as a whole."""
    if not body.strip():
        raise AppError(
            "body is empty; send a JSON array of transactions",
            errors=[field_error(("body",), "expected a JSON array")],
        )
    try:
        rows = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise AppError(
            f"body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            errors=[field_error(("body",), f"not valid JSON at byte {exc.pos}")],
        ) from None
    if not isinstance(rows, list):
        raise AppError(
            f"body must be a JSON array of transactions, not a JSON {type(rows).__name__}",
            errors=[field_error(("body",), "expected an array")],
        )
    if len(rows) > max_rows:
        raise PayloadTooLarge(
            f"{len(rows)} rows; at most {max_rows} per request "
            "(use POST /v1/transactions/bulk for more)",
            errors=[field_error(("body",), f"at most {max_rows} items")],
        )
    return rows


class BulkUpload:
    """One streamed NDJSON or CSV upload (gzip or not): bytes in, rows to the Ingestor."""

    def __init__(
        self,
        engine: Engine,
        settings: CreditSettings,
        platform_org_id: str,
        *,
        content_type: str | None,
        content_encoding: str | None,
        content_length: str | None,
    ) -> None:
        media = media_type(content_type)
        if media in NDJSON_TYPES:
            self.decoder: NdjsonDecoder | CsvDecoder = NdjsonDecoder()
        elif media in CSV_TYPES:
            self.decoder = CsvDecoder()
        else:
            raise UnsupportedMediaType(
                f"content type {media or '(none)'!r} is not accepted; "
                "send application/x-ndjson or text/csv",
                errors=[
                    field_error(("header", "content-type"), "application/x-ndjson or text/csv")
                ],
            )
        encoding = (content_encoding or "").strip().lower()
        if encoding not in ENCODINGS:
            raise UnsupportedMediaType(
                f"content encoding {encoding!r} is not accepted; send gzip or no encoding",
                errors=[field_error(("header", "content-encoding"), "gzip or none")],
            )
        self.limit = settings.max_bulk_bytes
        check_declared_size(content_length, self.limit)
        self.gunzip = Gunzip(force=encoding in {"gzip", "x-gzip"})
        self.ingestor = Ingestor(engine, settings, platform_org_id)
        # Worker processes ingest the body when they are configured (pool.py): a block of
        # ingest_chunk_rows lines each, one transaction per block. A CSV header is read here.
        self.pool = pool(settings.ingest_workers)
        self.max_in_flight = settings.ingest_workers + EXTRA_IN_FLIGHT
        self.block_rows = settings.ingest_chunk_rows
        self.context = UploadContext(
            upload_id=uuid.uuid4().hex,
            database_url=settings.database_url,
            platform_org_id=platform_org_id,
            buyer_key=self.ingestor.buyer_key,
            tolerance=self.ingestor.tolerance,
            request_id=current_request_id(),
        )
        self.in_flight: deque[Future[BlockResult]] = deque()
        self.block_first = 0
        self.block: list[bytes | None] = []
        self.received_bytes = 0
        self.inflated_bytes = 0

    def count(self, size: int) -> None:
        """Account for body bytes as they arrive; 413 past the limit."""
        self.received_bytes += size
        if self.received_bytes > self.limit:
            raise self._body_error(
                PayloadTooLarge, f"body is over the limit of {self.limit} bytes", "content-length"
            )

    def _body_error(self, kind: type[AppError], detail: str, where: str = "body") -> AppError:
        # Chunks committed before the fault stay (each is whole and consistent); the report
        # says how far the upload got, and resending the corrected file counts nothing twice.
        self._cancel()
        self.ingestor.discard_pending()
        report = self.ingestor.finish()
        loc = ("header", where) if where != "body" else ("body",)
        message = detail
        if report.received:
            detail = (
                f"{detail} (after {report.received} rows; the {report.inserted} rows committed "
                "stay, and a resend counts them as duplicates)"
            )
        return kind(
            detail,
            errors=[field_error(loc, message)],
            extra={"report": report.model_dump()},
        )

    def feed(self, data: bytes, final: bool = False) -> None:
        """Decode and ingest the next bytes of the body (worker thread)."""
        try:
            for piece in self.gunzip.feed(data):
                self.inflated_bytes += len(piece)
                if self.inflated_bytes > self.limit:
                    raise self._body_error(
                        PayloadTooLarge, f"inflated body is over the limit of {self.limit} bytes"
                    )
                self._ingest(piece)
            if final:
                self.gunzip.close()
                self._ingest(b"", final=True)
                self._drain(0)
        except ValueError as exc:
            raise self._body_error(AppError, str(exc)) from None

    def _ingest(self, piece: bytes, final: bool = False) -> None:
        if self.pool is None:
            decoded = self.decoder.close() if final else self.decoder.feed(piece)
            self.ingestor.add(decoded)
            return
        first, lines = self.decoder.close_lines() if final else self.decoder.feed_lines(piece)
        if isinstance(self.decoder, CsvDecoder) and self.decoder.header is None:
            # Lines up to the header are parsed here (blank or broken ones are row errors).
            parsed, used = self.decoder.parse_through_header(first, lines)
            self.ingestor.add(parsed)
            first, lines = first + used, lines[used:]
        if not self.block:
            self.block_first = first
        self.block.extend(lines)
        # Blocks of exactly block_rows lines (the last one shorter): one transaction each.
        while len(self.block) >= self.block_rows:
            self._submit(self.block[: self.block_rows])
            self.block = self.block[self.block_rows :]
        if final and self.block:
            self._submit(self.block)
            self.block = []

    def _submit(self, lines: list[bytes | None]) -> None:
        assert self.pool is not None
        first = self.block_first
        self.block_first += len(lines)
        too_long = tuple(i for i, line in enumerate(lines) if line is None)
        data = b"\n".join(line or b"" for line in lines)
        header = self.decoder.header if isinstance(self.decoder, CsvDecoder) else None
        try:
            future = self.pool.submit(
                ingest_block, self.context, first, data, too_long, utcnow(), header
            )
        except BrokenProcessPool:
            raise self._pool_died() from None
        self.in_flight.append(future)
        self._drain(self.max_in_flight)

    def _drain(self, keep: int) -> None:
        """Account for committed blocks in order until at most `keep` are in flight."""
        while len(self.in_flight) > keep:
            try:
                result = self.in_flight.popleft().result()
            except BrokenProcessPool:
                raise self._pool_died() from None
            self.ingestor.add_block_result(result)

    def _pool_died(self) -> ServiceUnavailable:
        assert self.pool is not None
        reset_broken_pool(self.pool)
        self._cancel()
        return ServiceUnavailable(
            "an ingest process stopped; send the file again "
            "(rows already committed count as duplicates)",
            retry_after_s=1,
        )

    def finish(self) -> IngestReport:
        """Write what is pending and return the report."""
        return self.ingestor.finish()

    def _cancel(self) -> None:
        # A block already running in a worker commits or not as a whole; its rows count as
        # duplicates when the file is sent again.
        for future in self.in_flight:
            future.cancel()
        self.in_flight.clear()
        self.block = []

    def close(self) -> None:
        """Stop the writer thread and drop blocks in flight (after a disconnect or an error)."""
        self._cancel()
        self.ingestor.close()
