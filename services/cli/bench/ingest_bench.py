"""Ingest benchmarks, each against a limit measured in the same run.

- ingest_sqlite_vs_raw: bulk NDJSON through the gateway into credit on SQLite, over raw
  sqlite3 executemany of the same rows into the same table (same migrations, same pragmas),
  measured just before and just after the upload and averaged.
- ingest_postgres_vs_copy: the same on PostgreSQL, over raw COPY of the same rows.
- ingest_peak_rss_mb: peak RSS growth of the credit process and its ingest workers over the
  a 5M-row upload (rows generated as they are sent) on a stack of its own; ratio is the
  growth over the 200 MB budget.
- score_read_p50_ms / score_read_p99_ms: GET score of a firm with 24 months and 50,000
  transactions through the gateway, over one raw rescan of that firm's rows (a score that
  rescanned raw rows could not be faster than that).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy.engine import make_url

from services.cli import stack as stack_mod
from services.cli.bench.results import Row
from services.cli.bench.setup import BENCH_DIR, BenchStack
from services.cli.client import SmefinClient
from services.cli.upload import NDJSON, stream_file
from services.credit.ingest.writer import RAW_COLUMNS
from shared.migrations import upgrade_to_head

TYPES = ("sale",) * 88 + ("refund",) * 6 + ("chargeback",) + ("payout",) * 3 + ("fee",) * 2
SHANGHAI = timezone(timedelta(hours=8))
CHUNK = 20_000
RSS_BUDGET_MB = 200.0
PG_ADMIN_URL = os.environ.get(
    "SMEFIN_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark loads."""

    firms: int
    rows_per_firm: int
    score_rows: int
    latency_s: float
    rss_rows_per_firm: int


FULL = Sizes(
    firms=1_000, rows_per_firm=1_000, score_rows=50_000, latency_s=10.0, rss_rows_per_firm=5_000
)
QUICK = Sizes(
    firms=100, rows_per_firm=1_000, score_rows=5_000, latency_s=3.0, rss_rows_per_firm=2_000
)


def synthetic_rows(
    firms: int, rows_per_firm: int, *, months: int = 24, seed: int = 11, prefix: str = "bf"
) -> Iterator[dict[str, str]]:
    """Deterministic transaction rows, firm after firm, spread over the last `months` months."""
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=30 * months)
    span = int((end - start).total_seconds())
    for f in range(firms):
        ref = f"{prefix}{f:05d}"
        regulars = max(rows_per_firm // 20, 1)
        stamps = sorted(rng.randrange(span) for _ in range(rows_per_firm))
        for i, offset in enumerate(stamps):
            kind = TYPES[rng.randrange(len(TYPES))]
            row = {
                "firm_ref": ref,
                "txn_id": f"{ref}-{i}",
                "type": kind,
                "occurred_at": (start + timedelta(seconds=offset)).astimezone(SHANGHAI).isoformat(),
                "amount": f"{rng.randrange(100, 100_000) / 100:.2f}",
                "currency": "CNY",
                "order_ref": f"{ref}-o{i}",
                "channel": "app",
                "category": "apparel",
            }
            if kind == "sale":
                # Half the orders come from a few regulars, half from one-off buyers.
                who = rng.randrange(regulars) if rng.random() < 0.5 else f"x{i}"
                row["buyer_ref"] = f"{ref}-b{who}"
            yield row


def write_ndjson(path: Path, rows: Iterator[dict[str, str]]) -> int:
    """Write rows as NDJSON; return how many."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        buf: list[bytes] = []
        for row in rows:
            buf.append(orjson.dumps(row))
            n += 1
            if len(buf) >= 10_000:
                f.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            f.write(b"\n".join(buf) + b"\n")
    return n


def _raw_chunks(path: Path, now_text: str) -> Iterator[list[tuple[Any, ...]]]:
    """The file's rows as stored tuples (converted outside any timer), CHUNK at a time."""
    chunk: list[tuple[Any, ...]] = []
    with path.open("rb") as f:
        for line in f:
            r = orjson.loads(line)
            buyer = r.get("buyer_ref")
            chunk.append(
                (
                    "bench",
                    int(r["firm_ref"][-5:]) + 1,
                    r["txn_id"],
                    r["type"],
                    r["occurred_at"][:19].replace("T", " ") + ".000000",
                    r["occurred_at"][:7],
                    int(r["occurred_at"][8:10]),
                    int(r["amount"].replace(".", "")),
                    r["currency"],
                    r["order_ref"],
                    hashlib.md5(buyer.encode()).hexdigest() if buyer else None,  # noqa: S324
                    r["channel"],
                    r["category"],
                    None,
                    now_text,
                )
            )
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _firm_rows(firms: int) -> list[tuple[Any, ...]]:
    now = "2026-01-01 00:00:00.000000"
    return [
        ("bench", f"f{i}", "retail", "330106", "micro", "x", "Asia/Shanghai", now, now, 0)
        for i in range(firms)
    ]


FIRM_INSERT = (
    "INSERT INTO firm (platform_org_id, firm_ref, industry, region_code, size_class, "
    "size_table_version, timezone, created_at, updated_at, metrics_version) VALUES "
)


def raw_sqlite_rate(path: Path, firms: int, work_dir: Path) -> float:
    """Rows/s of plain sqlite3 executemany into the migrated table, CHUNK rows a commit."""
    db = work_dir / "raw.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    upgrade_to_head(stack_mod.MIGRATIONS["credit"], f"sqlite:///{db}")
    con = sqlite3.connect(db, isolation_level=None)
    # The same pragmas as the service's engine (shared/db.py).
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    con.executemany(FIRM_INSERT + "(?,?,?,?,?,?,?,?,?,?)", _firm_rows(firms))
    sql = (
        f"INSERT INTO sales_transaction ({', '.join(RAW_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(RAW_COLUMNS))})"
    )
    rows = 0
    spent = 0.0
    for chunk in _raw_chunks(path, "2026-01-01 00:00:00.000000"):
        began = time.perf_counter()
        con.execute("BEGIN")
        con.executemany(sql, chunk)
        con.execute("COMMIT")
        spent += time.perf_counter() - began
        rows += len(chunk)
    con.close()
    return rows / spent


def _pg_conninfo(url: str, database: str | None = None) -> str:
    u = make_url(url)
    return (
        f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'root'} "
        f"dbname={database or u.database or 'postgres'}"
    )


class PgDatabases:
    """Fresh PostgreSQL databases for one bench run, dropped at the end."""

    def __init__(self, admin_url: str = PG_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    def create(self, label: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"smefin_bench_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_pg_conninfo(self.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this object created."""
        with psycopg.connect(_pg_conninfo(self.admin_url), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created = []


def raw_copy_rate(path: Path, firms: int, url: str) -> float:
    """Rows/s of plain COPY into the migrated table on PostgreSQL, CHUNK rows a commit."""
    upgrade_to_head(stack_mod.MIGRATIONS["credit"], url)
    database = make_url(url).database
    with psycopg.connect(_pg_conninfo(url, database)) as conn:
        with conn.cursor() as cur:
            cur.executemany(FIRM_INSERT + "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", _firm_rows(firms))
        conn.commit()
        rows = 0
        spent = 0.0
        copy_sql = f"COPY sales_transaction ({', '.join(RAW_COLUMNS)}) FROM STDIN"
        for chunk in _raw_chunks(path, "2026-01-01 00:00:00.000000+00"):
            began = time.perf_counter()
            with conn.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in chunk:
                    copy.write_row(row)
            conn.commit()
            spent += time.perf_counter() - began
            rows += len(chunk)
    return rows / spent


def _proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, MB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            out[key] = int(value.split()[0]) / 1024
    return out


def _process_tree(pid: int) -> list[int]:
    """A process and its descendants (credit and its validation processes)."""
    tree = [pid]
    for p in tree:
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                tree.extend(int(c) for c in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return tree


def _register_firms(bench: BenchStack, prefix: str, firms: int) -> None:
    with SmefinClient(bench.stack.url("gateway"), bench.platform_key) as platform:
        for f in range(firms):
            platform.request(
                "PUT",
                f"/v1/firms/{prefix}{f:05d}",
                {"industry": "retail", "region_code": "330106"},
            )


def _warm_up(bench: BenchStack) -> None:
    """A small upload first, so that start-up (the validation process) is not timed."""
    path = bench.work_dir / "warm-up.ndjson"
    write_ndjson(path, synthetic_rows(1, 200, prefix="wu", seed=3))
    _register_firms(bench, "wu", 1)
    stream_file(bench.stack.url("gateway"), bench.platform_key, path, content_type=NDJSON)


class TreeMemory:
    """Peak memory growth of the credit process and its ingest workers over one upload.

    High-water marks are reset first (so start-up does not count); growth is each process's
    VmHWM after, less its VmRSS before, summed over the tree (a process started during the
    upload counts whole). Pages shared with the parent count in every process that touches
    them, so the sum overstates rather than understates.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before: dict[int, float] = {}
        for p in _process_tree(pid):
            Path(f"/proc/{p}/clear_refs").write_text("5")
            self.before[p] = _proc_status(p)["VmRSS"]

    def growth(self) -> dict[int, float]:
        """Per process (credit first): peak growth in MB since this object was made."""
        out = {}
        for p in _process_tree(self.pid):
            try:
                out[p] = _proc_status(p)["VmHWM"] - self.before.get(p, 0.0)
            except (FileNotFoundError, KeyError):
                continue
        return out


def upload_through_gateway(
    bench: BenchStack, body: Path | Iterator[bytes], firms: int, prefix: str
) -> tuple[float, dict[str, Any], dict[int, float]]:
    """Register the firms, stream the file (or generated pieces); (rows/s, report, peak
    memory growth per process of the credit tree, MB)."""
    _register_firms(bench, prefix, firms)
    _warm_up(bench)
    memory = TreeMemory(bench.stack.procs["credit"].pid)
    began = time.perf_counter()
    if isinstance(body, Path):
        status, report = stream_file(
            bench.stack.url("gateway"), bench.platform_key, body, content_type=NDJSON
        )
    else:
        status, report = _stream_pieces(bench, body)
    elapsed = time.perf_counter() - began
    growth = memory.growth()
    if status != 200 or report.get("rejected"):
        raise RuntimeError(f"bench upload failed: {status} {str(report)[:500]}")
    return report["received"] / elapsed, report, growth


def _stream_pieces(bench: BenchStack, pieces: Iterator[bytes]) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {bench.platform_key}", "content-type": NDJSON}
    with httpx.Client(timeout=httpx.Timeout(3600.0, connect=10.0)) as client:
        resp = client.post(
            bench.stack.url("gateway") + "/v1/transactions/bulk", content=pieces, headers=headers
        )
    return resp.status_code, resp.json()


def ndjson_pieces(rows: Iterator[dict[str, str]], piece_rows: int = 5_000) -> Iterator[bytes]:
    """Rows as NDJSON pieces of piece_rows lines, generated as they are sent (no file)."""
    buf: list[bytes] = []
    for row in rows:
        buf.append(orjson.dumps(row))
        if len(buf) >= piece_rows:
            yield b"\n".join(buf) + b"\n"
            buf = []
    if buf:
        yield b"\n".join(buf) + b"\n"


def _latency(url: str, headers: dict[str, str], duration_s: float) -> dict[str, float]:
    cmd = [sys.executable, "-m", "services.cli.bench.loadgen", url, "--duration", str(duration_s)]
    cmd += ["--concurrency", "1", "--warmup", "1"]
    for k, v in headers.items():
        cmd += ["--header", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration_s + 120)  # noqa: S603
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rescan_ms(db_path: Path, firm_ref: str) -> float:
    """Median time of one raw rescan of a firm's rows (monthly sums and distinct buyers)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    (firm_id,) = con.execute("SELECT id FROM firm WHERE firm_ref = ?", (firm_ref,)).fetchone()
    times = []
    for _ in range(7):
        began = time.perf_counter()
        con.execute(
            "SELECT local_month, currency, type, sum(amount_minor), count(*), "
            "count(DISTINCT buyer_hash) FROM sales_transaction WHERE firm_id = ? "
            "GROUP BY local_month, currency, type",
            (firm_id,),
        ).fetchall()
        times.append((time.perf_counter() - began) * 1000)
    con.close()
    return statistics.median(times)


def score_read_rows(bench: BenchStack, sizes: Sizes) -> list[Row]:
    """p50 and p99 of GET score for a firm with 24 months and sizes.score_rows transactions."""
    path = bench.work_dir / "score.ndjson"
    write_ndjson(path, synthetic_rows(1, sizes.score_rows, prefix="sc", seed=5))
    _register_firms(bench, "sc", 1)
    status, report = stream_file(
        bench.stack.url("gateway"), bench.platform_key, path, content_type=NDJSON
    )
    if status != 200:
        raise RuntimeError(f"score firm upload failed: {status} {str(report)[:500]}")
    url = bench.stack.url("gateway") + "/v1/firms/sc00000/score"
    lat = _latency(url, {"Authorization": f"Bearer {bench.platform_key}"}, sizes.latency_s)
    rescan = _rescan_ms(bench.work_dir / "credit.db", "sc00000")
    note = (
        f"{sizes.score_rows} txns over 24 months; one raw rescan {rescan:.1f} ms; "
        f"{lat['requests']:.0f} requests, {lat['errors']:.0f} errors; ratio = latency / rescan, "
        "lower is better"
    )
    return [
        Row(
            "score_read_p50_ms",
            round(lat["p50_ms"], 2),
            "ms",
            round(lat["p50_ms"] / rescan, 3),
            1.0,
            note,
        ),
        Row(
            "score_read_p99_ms",
            round(lat["p99_ms"], 2),
            "ms",
            round(lat["p99_ms"] / rescan, 3),
            1.0,
            note,
        ),
    ]


def run(bench: BenchStack, quick: bool) -> list[Row]:
    """Every ingest row of this run (SQLite on the given stack, PostgreSQL on its own)."""
    sizes = QUICK if quick or os.environ.get("SMEFIN_BENCH_QUICK") else FULL
    work = BENCH_DIR / "ingest"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "rows.ndjson"
    total = write_ndjson(data, synthetic_rows(sizes.firms, sizes.rows_per_firm))
    rows: list[Row] = []

    # The limit is measured just before and just after the upload, and averaged: on a shared
    # machine one short measurement can land in a slow or a fast moment.
    raw_before = raw_sqlite_rate(data, sizes.firms, work)
    rate, _report, growth_1m = upload_through_gateway(bench, data, sizes.firms, "bf")
    raw_after = raw_sqlite_rate(data, sizes.firms, work)
    raw = (raw_before + raw_after) / 2
    rows.append(
        Row(
            "ingest_sqlite_vs_raw",
            round(rate),
            "rows/s",
            round(rate / raw, 3),
            0.5,
            note=f"{total:,} rows, {sizes.firms} firms via gateway; "
            f"raw executemany {raw:,.0f} rows/s (mean of {raw_before:,.0f} before and "
            f"{raw_after:,.0f} after)",
        )
    )
    rows += score_read_rows(bench, sizes)
    rows.append(postgres_row(data, sizes, total))
    rows.append(memory_row(sizes, sum(growth_1m.values()), total))
    return rows


def memory_row(sizes: Sizes, growth_1m: float, total_1m: int) -> Row:
    """ingest_peak_rss_mb: one long upload (rows generated as they are sent) into a stack of
    its own, started and warmed up for it, so that its growth is the whole upload's."""
    bench = BenchStack.start("ingest-rss")
    try:
        rss_rows = sizes.firms * sizes.rss_rows_per_firm
        pieces = ndjson_pieces(synthetic_rows(sizes.firms, sizes.rss_rows_per_firm, prefix="rs"))
        _rate, _report, growth = upload_through_gateway(bench, pieces, sizes.firms, "rs")
    finally:
        bench.stop()
    total = sum(growth.values())
    per_process = ", ".join(f"{g:.1f}" for g in growth.values())
    return Row(
        "ingest_peak_rss_mb",
        round(total, 1),
        "MB",
        round(total / RSS_BUDGET_MB, 3),
        1.0,
        note=f"peak RSS growth of credit + its ingest workers over a {rss_rows:,}-row upload "
        f"(VmHWM after - VmRSS before, summed over the processes: {per_process} MB); "
        f"{growth_1m:.1f} MB over the {total_1m:,}-row upload; ratio = growth / "
        f"{RSS_BUDGET_MB:.0f} MB",
    )


def postgres_row(data: Path, sizes: Sizes, total: int) -> Row:
    """ingest_postgres_vs_copy on a stack whose credit service runs on a fresh PostgreSQL DB."""
    dbs = PgDatabases()
    try:
        credit_url = dbs.create("credit")
        raw_urls = (dbs.create("raw"), dbs.create("raw"))
    except psycopg.OperationalError as exc:
        return Row(
            "ingest_postgres_vs_copy", 0.0, "rows/s", None, 0.5, note=f"no PostgreSQL: {exc}"
        )
    try:
        copy_before = raw_copy_rate(data, sizes.firms, raw_urls[0])
        pg_bench = BenchStack.start("ingest-pg", urls={"credit": credit_url})
        try:
            rate, _report, _memory = upload_through_gateway(pg_bench, data, sizes.firms, "bf")
        finally:
            pg_bench.stop()
        copy_after = raw_copy_rate(data, sizes.firms, raw_urls[1])
        copy = (copy_before + copy_after) / 2
    finally:
        dbs.drop_all()
    return Row(
        "ingest_postgres_vs_copy",
        round(rate),
        "rows/s",
        round(rate / copy, 3),
        0.5,
        note=f"{total:,} rows via gateway; raw COPY {copy:,.0f} rows/s (mean of "
        f"{copy_before:,.0f} before and {copy_after:,.0f} after)",
    )
