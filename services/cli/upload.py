"""`smefin upload FILE`: stream a CSV or NDJSON history export to the gateway, print the report."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

PIECE_BYTES = 1 << 20
NDJSON = "application/x-ndjson"
CSV = "text/csv"
SHOWN_REJECTIONS = 20


def content_type_of(path: Path, forced: str | None = None) -> str:
    """The media type of a file from --format or its name (.csv, .ndjson, .jsonl; .gz after)."""
    kind = forced or path.name.removesuffix(".gz").rsplit(".", 1)[-1].lower()
    if kind == "csv":
        return CSV
    if kind in {"ndjson", "jsonl", "json"}:
        return NDJSON
    raise typer.BadParameter(f"cannot tell the format of {path.name}; pass --format csv|ndjson")


def _with_firm_ref(lines: Iterator[bytes], content_type: str, firm_ref: str) -> Iterator[bytes]:
    """Lines with firm_ref added where missing; lines stay one for one, so line numbers hold."""
    first = True
    for raw in lines:
        if content_type == CSV:
            if not raw.strip():
                yield raw
            elif first:
                header = raw.decode("utf-8", "replace").lstrip("\ufeff")
                has_ref = "firm_ref" in [h.strip() for h in header.split(",")]
                yield raw if has_ref else b"firm_ref," + raw
                first = False
            else:
                yield raw if has_ref else firm_ref.encode() + b"," + raw
            continue
        try:
            row = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield raw  # the service reports it, with its line
            continue
        if isinstance(row, dict) and "firm_ref" not in row:
            row["firm_ref"] = firm_ref
            yield orjson.dumps(row) + b"\n"
        else:
            yield raw


def _pieces(f: IO[bytes], advance: Callable[[int], None]) -> Iterator[bytes]:
    while piece := f.read(PIECE_BYTES):
        advance(len(piece))
        yield piece


def _rewritten(
    f: IO[bytes], content_type: str, firm_ref: str, advance: Callable[[int], None]
) -> Iterator[bytes]:
    def lines() -> Iterator[bytes]:
        for raw in f:
            advance(len(raw))
            yield raw

    buf: list[bytes] = []
    size = 0
    for out in _with_firm_ref(lines(), content_type, firm_ref):
        buf.append(out)
        size += len(out)
        if size >= PIECE_BYTES:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


def stream_file(
    gateway_url: str,
    api_key: str,
    path: Path,
    *,
    content_type: str,
    firm_ref: str | None = None,
    advance: Callable[[int], None] = lambda _n: None,
    timeout_s: float = 3600.0,
) -> tuple[int, dict[str, Any]]:
    """POST a file to /v1/transactions/bulk as a stream; (HTTP status, decoded answer)."""
    gzipped = path.name.endswith(".gz")
    headers = {"Authorization": f"Bearer {api_key}", "content-type": content_type}
    with ExitStack() as files:
        raw_file = files.enter_context(path.open("rb"))
        if firm_ref is None:
            body: Iterator[bytes] = _pieces(raw_file, advance)
            # Sent as is, so its length is known: an oversized file is refused before it goes.
            headers["content-length"] = str(path.stat().st_size)
            if gzipped:
                headers["content-encoding"] = "gzip"
        else:
            # Rows must name their firm: add it line by line (inflating first if need be).
            source: IO[bytes] = (
                files.enter_context(gzip.GzipFile(fileobj=raw_file)) if gzipped else raw_file  # type: ignore[arg-type]
            )
            body = _rewritten(source, content_type, firm_ref, advance)
        with httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0)) as client:
            resp = client.post(
                gateway_url.rstrip("/") + "/v1/transactions/bulk", content=body, headers=headers
            )
    try:
        answer = resp.json()
    except ValueError:
        answer = {"detail": resp.text[:500]}
    return resp.status_code, answer


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The ingest report as a summary line and a table of the first rejections."""
    console.print(
        f"received {report['received']:,}  inserted {report['inserted']:,}  "
        f"duplicates {report['duplicates']:,}  rejected {report['rejected']:,}"
    )
    rejections = report.get("rejections") or []
    if rejections:
        table = Table("line", "field", "reason", "txn_id")
        for r in rejections[:SHOWN_REJECTIONS]:
            table.add_row(str(r["line"]), r["field"] or "(row)", r["reason"], r.get("txn_id") or "")
        console.print(table)
        more = report["rejected"] - min(len(rejections), SHOWN_REJECTIONS)
        if more > 0:
            console.print(f"... and {more:,} more rejected rows (--json lists the first 1,000)")


def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or NDJSON, may be .gz"),
    firm_ref: str | None = typer.Option(
        None, "--firm-ref", help="the firm of rows that do not name one (default: every row must)"
    ),
    gateway_url: str = typer.Option(
        "http://127.0.0.1:8000", "--gateway", envvar="SMEFIN_GATEWAY_URL", help="gateway base URL"
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="SMEFIN_API_KEY", help="a platform key (transactions:write)"
    ),
    fmt: str | None = typer.Option(None, "--format", help="csv or ndjson (default: from the name)"),
    as_json: bool = typer.Option(False, "--json", help="print the whole report as JSON"),
) -> None:
    """Stream a transaction history export to the gateway with a progress bar; print the report.

    Exit status: 0 every row stored or a duplicate, 1 some rows rejected, 2 the upload refused.
    """
    if not api_key:
        raise typer.BadParameter("pass --api-key or set SMEFIN_API_KEY", param_hint="--api-key")
    content_type = content_type_of(file, fmt)
    console = Console(stderr=as_json)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=as_json) as progress:
        task = progress.add_task(f"uploading {file.name}", total=os.path.getsize(file))
        try:
            status, answer = stream_file(
                gateway_url,
                api_key,
                file,
                content_type=content_type,
                firm_ref=firm_ref,
                advance=lambda n: progress.advance(task, n),
            )
        except httpx.HTTPError as exc:
            console.print(f"[red]upload failed:[/red] {exc}")
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
    if status >= 400:
        if not as_json:
            console.print(f"[red]{status}[/red] {answer.get('detail', answer)}")
            for err in answer.get("errors", []):
                console.print(f"  {err.get('location')}: {err.get('detail')}")
            if "report" in answer:
                print_report(console, answer["report"])
        raise typer.Exit(2)
    if not as_json:
        print_report(console, answer)
    raise typer.Exit(1 if answer.get("rejected") else 0)
