"""Ingest benchmarks: bulk NDJSON through the gateway against raw inserts, peak RSS, score reads."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

TYPES = ("sale",) * 88 + ("refund",) * 6 + ("chargeback",) + ("payout",) * 3 + ("fee",) * 2


def synthetic_rows(
    firms: int, rows_per_firm: int, *, months: int = 24, seed: int = 11, prefix: str = "bf"
) -> Iterator[dict[str, str]]:
    """Deterministic transaction rows, firm after firm, spread over the last `months` months."""
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=31 * months)
    span = int((end - start).total_seconds())
    for f in range(firms):
        ref = f"{prefix}{f:05d}"
        buyers = max(rows_per_firm // 3, 1)
        stamps = sorted(rng.randrange(span) for _ in range(rows_per_firm))
        for i, offset in enumerate(stamps):
            kind = TYPES[rng.randrange(len(TYPES))]
            when = (start + timedelta(seconds=offset)).astimezone(
                __import__("datetime").timezone(timedelta(hours=8))
            )
            row = {
                "firm_ref": ref,
                "txn_id": f"{ref}-{i}",
                "type": kind,
                "occurred_at": when.isoformat(),
                "amount": f"{rng.randrange(100, 100_000) / 100:.2f}",
                "currency": "CNY",
                "order_ref": f"{ref}-o{i}",
                "channel": "app",
                "category": "apparel",
            }
            if kind == "sale":
                row["buyer_ref"] = f"{ref}-b{min(int(rng.paretovariate(1.2)), buyers)}"
            yield row


def write_ndjson(path: Path, rows: Iterator[dict[str, str]]) -> int:
    """Write rows as NDJSON; return how many."""
    n = 0
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
