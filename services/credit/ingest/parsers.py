"""Incremental NDJSON and CSV decoders with transparent gzip, in bounded memory."""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterator

import msgspec
import orjson

from services.credit.ingest.rows import RAW_FIELDS, RawTxn, RowError

MAX_LINE_BYTES = 64 * 1024
CSV_COLUMNS = RAW_FIELDS

ParsedLine = tuple[int, RawTxn | RowError]
# A JSON object line straight into a RawTxn, in one pass and without an intermediate dict.
_decode_txn = msgspec.json.Decoder(RawTxn).decode


class Gunzip:
    """Pass bytes through, inflating them if the stream starts with the gzip magic number.

    Inflated output comes in pieces of at most PIECE_BYTES, so a small body that inflates to
    gigabytes (a "zip bomb") is still processed in bounded memory.
    """

    PIECE_BYTES = 4 << 20

    def __init__(self, force: bool = False) -> None:
        self._decided = force
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16) if force else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Inflate (or not) the next bytes of the stream."""
        if not self._decided and data:
            self._decided = True
            if data[:2] == b"\x1f\x8b":
                self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        if self._inflate is None:
            yield data
            return
        try:
            while data:
                piece = self._inflate.decompress(data, self.PIECE_BYTES)
                data = self._inflate.unconsumed_tail
                yield piece
        except zlib.error as exc:
            raise ValueError(f"body is not valid gzip: {exc}") from None

    def close(self) -> None:
        """Raise if a gzip body ended before its end marker."""
        if self._inflate is not None and not self._inflate.eof:
            raise ValueError("gzip body is truncated (no end-of-stream marker)")


class LineSplitter:
    """Split a byte stream into numbered lines; an over-long line becomes one error, not memory."""

    def __init__(self) -> None:
        self._buf = b""
        self._line_no = 0
        self._skipping = False

    def feed(self, data: bytes) -> tuple[int, list[bytes | None]]:
        """(number of the first line, complete lines in `data`); None is a line too long to keep."""
        buf = self._buf + data if self._buf else data
        lines: list[bytes | None] = buf.split(b"\n")  # type: ignore[assignment]
        rest = lines.pop()
        assert rest is not None
        self._buf = rest
        first = self._line_no + 1
        self._line_no += len(lines)
        if self._skipping and lines:
            self._skipping = False
            lines[0] = None
        for i, raw in enumerate(lines):
            if raw is not None and len(raw) > MAX_LINE_BYTES:
                lines[i] = None
        if len(self._buf) > MAX_LINE_BYTES:
            self._buf = b""
            self._skipping = True
        return first, lines

    def close(self) -> tuple[int, list[bytes | None]]:
        """The last line, if the stream did not end with a newline."""
        lines: list[bytes | None] = []
        if self._buf or self._skipping:
            lines.append(None if self._skipping else self._buf)
            self._line_no += 1
            self._buf = b""
            self._skipping = False
        return self._line_no, lines


TOO_LONG = RowError("", f"line longer than {MAX_LINE_BYTES} bytes")


def _not_an_object(raw: bytes) -> RowError | None:
    """Why a line is not a JSON object; None for a blank line (skipped)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return RowError("", f"not valid JSON: {exc.msg}") if raw.strip() else None
    if type(value) is dict:
        # Valid for orjson yet refused by the typed decoder: say so rather than guess.
        return RowError("", "not a JSON object of transaction fields")
    return RowError("", "must be a JSON object")


class NdjsonDecoder:
    """One JSON object a line; blank lines are skipped."""

    def __init__(self) -> None:
        self._lines = LineSplitter()

    @staticmethod
    def parse_lines(first: int, lines: list[bytes | None]) -> list[ParsedLine]:
        """Numbered rows (or row errors) of complete lines; blank lines are skipped."""
        out: list[ParsedLine] = []
        append = out.append
        decode = _decode_txn
        for line_no, raw in enumerate(lines, first):
            if raw is None:
                append((line_no, TOO_LONG))
                continue
            try:
                append((line_no, decode(raw)))
            except (msgspec.MsgspecError, ValueError):
                # Not a JSON object: orjson words what is wrong (the rare case).
                wrong = _not_an_object(raw)
                if wrong is not None:
                    append((line_no, wrong))
        return out

    def feed(self, data: bytes) -> list[ParsedLine]:
        """Rows completed by `data`."""
        return self.parse_lines(*self._lines.feed(data))

    def close(self) -> list[ParsedLine]:
        """Rows left at end of stream."""
        return self.parse_lines(*self._lines.close())

    def feed_lines(self, data: bytes) -> tuple[int, list[bytes | None]]:
        """Complete lines of `data`, unparsed (for a validation process to parse)."""
        return self._lines.feed(data)

    def close_lines(self) -> tuple[int, list[bytes | None]]:
        """The unterminated last line, unparsed."""
        return self._lines.close()


class CsvDecoder:
    """A header line naming the columns, then one row a line (fields may not contain newlines)."""

    def __init__(self, header: list[str] | None = None) -> None:
        self._lines = LineSplitter()
        self._header = header

    @property
    def header(self) -> list[str] | None:
        """The columns, once the header line has been read."""
        return self._header

    def parse_lines(self, first: int, lines: list[bytes | None]) -> list[ParsedLine]:
        """Numbered rows (or row errors) of complete lines, the header first if not yet read."""
        return self._parse(first, lines)

    def parse_through_header(
        self, first: int, lines: list[bytes | None]
    ) -> tuple[list[ParsedLine], int]:
        """Parse lines up to and including the header; (rows parsed, how many lines used)."""
        out: list[ParsedLine] = []
        for used, raw in enumerate(lines):
            if self._header is not None:
                return out, used
            out += self._parse(first + used, [raw])
        return out, len(lines)

    def _parse(self, first: int, lines: list[bytes | None]) -> list[ParsedLine]:
        out: list[ParsedLine] = []
        for line_no, raw in enumerate(lines, first):
            if raw is None:
                out.append((line_no, TOO_LONG))
                continue
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                out.append((line_no, RowError("", "not UTF-8")))
                continue
            if not text.strip():
                continue
            try:
                fields = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                out.append((line_no, RowError("", f"not valid CSV: {exc}")))
                continue
            if self._header is None:
                self._header = self._read_header(fields, line_no)
                continue
            if len(fields) != len(self._header):
                out.append(
                    (
                        line_no,
                        RowError("", f"has {len(fields)} fields, header has {len(self._header)}"),
                    )
                )
                continue
            out.append(
                (
                    line_no,
                    RawTxn(
                        **{
                            k: (v if v != "" else None)
                            for k, v in zip(self._header, fields, strict=True)
                        }
                    ),
                )
            )
        return out

    @staticmethod
    def _read_header(fields: list[str], line_no: int) -> list[str]:
        header = [h.strip().lstrip("\ufeff") for h in fields]
        unknown = [h for h in header if h not in CSV_COLUMNS]
        if unknown:
            raise ValueError(
                f"CSV header (line {line_no}) names unknown column {unknown[0][:40]!r}; "
                f"columns are {', '.join(sorted(CSV_COLUMNS))}"
            )
        if len(set(header)) != len(header):
            raise ValueError(f"CSV header (line {line_no}) repeats a column")
        return header

    def feed(self, data: bytes) -> list[ParsedLine]:
        """Rows completed by `data`."""
        return self._parse(*self._lines.feed(data))

    def close(self) -> list[ParsedLine]:
        """Rows left at end of stream."""
        return self._parse(*self._lines.close())

    def feed_lines(self, data: bytes) -> tuple[int, list[bytes | None]]:
        """Complete lines of `data`, unparsed (for an ingest worker to parse)."""
        return self._lines.feed(data)

    def close_lines(self) -> tuple[int, list[bytes | None]]:
        """The unterminated last line, unparsed."""
        return self._lines.close()
