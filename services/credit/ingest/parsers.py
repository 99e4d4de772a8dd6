"""Incremental NDJSON and CSV decoders with transparent gzip, in bounded memory."""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterator
from typing import Any

import orjson

from services.credit.ingest.rows import RowError

MAX_LINE_BYTES = 64 * 1024
CSV_COLUMNS = frozenset(
    {
        "firm_ref",
        "txn_id",
        "type",
        "occurred_at",
        "amount",
        "currency",
        "order_ref",
        "buyer_ref",
        "channel",
        "category",
        "refund_of",
    }
)

ParsedLine = tuple[int, dict[str, Any] | RowError]


class Gunzip:
    """Pass bytes through, inflating them if the stream starts with the gzip magic number."""

    def __init__(self, force: bool = False) -> None:
        self._decided = force
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16) if force else None

    def feed(self, data: bytes) -> bytes:
        """Inflate (or not) the next bytes of the stream."""
        if not self._decided:
            self._decided = True
            if data[:2] == b"\x1f\x8b":
                self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        if self._inflate is None:
            return data
        try:
            return self._inflate.decompress(data)
        except zlib.error as exc:
            raise ValueError(f"body is not valid gzip: {exc}") from None


class LineSplitter:
    """Split a byte stream into numbered lines; an over-long line becomes one error, not memory."""

    def __init__(self) -> None:
        self._buf = b""
        self._line_no = 0
        self._skipping = False

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes | None]]:
        """Complete lines in `data` (None stands for a line too long to keep)."""
        self._buf += data
        *complete, self._buf = self._buf.split(b"\n")
        for raw in complete:
            self._line_no += 1
            if self._skipping:
                self._skipping = False
                yield self._line_no, None
            elif len(raw) > MAX_LINE_BYTES:
                yield self._line_no, None
            else:
                yield self._line_no, raw
        if len(self._buf) > MAX_LINE_BYTES:
            self._buf = b""
            self._skipping = True

    def close(self) -> Iterator[tuple[int, bytes | None]]:
        """The last line, if the stream did not end with a newline."""
        if self._buf or self._skipping:
            self._line_no += 1
            yield self._line_no, (None if self._skipping else self._buf)
            self._buf = b""


class NdjsonDecoder:
    """One JSON object a line; blank lines are skipped."""

    def __init__(self) -> None:
        self._lines = LineSplitter()

    def _parse(self, items: Iterator[tuple[int, bytes | None]]) -> Iterator[ParsedLine]:
        for line_no, raw in items:
            if raw is None:
                yield line_no, RowError("", f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield line_no, RowError("", f"not valid JSON: {exc.msg}")
                continue
            yield line_no, obj if isinstance(obj, dict) else RowError("", "must be a JSON object")

    def feed(self, data: bytes) -> Iterator[ParsedLine]:
        """Rows completed by `data`."""
        return self._parse(self._lines.feed(data))

    def close(self) -> Iterator[ParsedLine]:
        """Rows left at end of stream."""
        return self._parse(self._lines.close())


class CsvDecoder:
    """A header line naming the columns, then one row a line (fields may not contain newlines)."""

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._header: list[str] | None = None

    def _parse(self, items: Iterator[tuple[int, bytes | None]]) -> Iterator[ParsedLine]:
        for line_no, raw in items:
            if raw is None:
                yield line_no, RowError("", f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                yield line_no, RowError("", "not UTF-8")
                continue
            if not text.strip():
                continue
            fields = next(csv.reader([text]))
            if self._header is None:
                header = [h.strip().lstrip("\ufeff") for h in fields]
                unknown = [h for h in header if h not in CSV_COLUMNS]
                if unknown:
                    raise ValueError(f"CSV header names unknown column {unknown[0]!r}")
                self._header = header
                continue
            if len(fields) != len(self._header):
                yield (
                    line_no,
                    RowError("", f"has {len(fields)} fields, header has {len(self._header)}"),
                )
                continue
            yield (
                line_no,
                {k: (v if v != "" else None) for k, v in zip(self._header, fields, strict=True)},
            )

    def feed(self, data: bytes) -> Iterator[ParsedLine]:
        """Rows completed by `data`."""
        return self._parse(self._lines.feed(data))

    def close(self) -> Iterator[ParsedLine]:
        """Rows left at end of stream."""
        return self._parse(self._lines.close())
