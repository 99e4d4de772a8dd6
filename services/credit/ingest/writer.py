"""Write one chunk of clean rows: raw rows and their monthly metrics in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.credit.ingest.rows import CleanRow
from services.credit.models import Firm, FirmMonthBuyer, FirmMonthMetric, SalesTransaction
from shared.db import utcnow, write_session
from shared.domain_metrics import TRANSACTIONS_INGESTED
from shared.outbox import emit

IN_BATCH = 2_000
METRIC_SUMS = {
    "sale": ("sales_minor", "sales_count"),
    "refund": ("refund_minor", "refund_count"),
    "chargeback": ("chargeback_minor", "chargeback_count"),
    "payout": ("payout_minor", "payout_count"),
    "fee": ("fee_minor", "fee_count"),
}
ADDITIVE = [c for pair in METRIC_SUMS.values() for c in pair] + ["distinct_buyers", "repeat_buyers"]


@dataclass
class ChunkOutcome:
    """What happened to a chunk: inserted, duplicates, and conflicts by row position."""

    inserted: int = 0
    duplicates: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)


def _existing(session: Any, platform_org_id: str, txn_ids: list[str]) -> dict[str, str]:
    table = SalesTransaction.__table__  # type: ignore[attr-defined]
    found: dict[str, str] = {}
    for i in range(0, len(txn_ids), IN_BATCH):
        batch = txn_ids[i : i + IN_BATCH]
        stmt = select(table.c.txn_id, table.c.content_hash).where(
            table.c.platform_org_id == platform_org_id, table.c.txn_id.in_(batch)
        )
        found.update({t: h for t, h in session.execute(stmt)})
    return found


def _upsert(
    session: Any, table: Any, rows: list[dict[str, Any]], keys: list[str], set_: Any
) -> None:
    if not rows:
        return
    dialect = session.bind.dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = ins.on_conflict_do_update(index_elements=keys, set_=set_(table, ins.excluded, dialect))
    session.execute(stmt, rows)


def _metric_set(table: Any, excluded: Any, dialect: str) -> dict[str, Any]:
    values: dict[str, Any] = {c: table.c[c] + excluded[c] for c in ADDITIVE}
    values["active_day_mask"] = table.c.active_day_mask.op("|")(excluded.active_day_mask)
    # SQLite's two-argument max() is PostgreSQL's greatest().
    larger = func.greatest if dialect == "postgresql" else func.max
    values["top_buyer_sales_minor"] = larger(
        table.c.top_buyer_sales_minor, excluded.top_buyer_sales_minor
    )
    return values


def _buyer_set(table: Any, excluded: Any, _dialect: str) -> dict[str, Any]:
    return {
        "sales_minor": table.c.sales_minor + excluded.sales_minor,
        "orders": table.c.orders + excluded.orders,
    }


def write_chunk(engine: Engine, platform_org_id: str, rows: list[CleanRow]) -> ChunkOutcome:
    """Insert new rows, count duplicates, report conflicts; update metrics in the same commit."""
    outcome = ChunkOutcome()
    if not rows:
        return outcome
    txn = SalesTransaction.__table__  # type: ignore[attr-defined]
    with write_session(engine) as session:
        firm_ids = sorted({r.firm_id for r in rows})
        # Lock the firms first (sorted, so concurrent chunks cannot deadlock): metric
        # read-modify-write below must not interleave with another chunk of the same firm.
        firm_table = Firm.__table__  # type: ignore[attr-defined]
        session.execute(
            update(firm_table)
            .where(firm_table.c.id.in_(firm_ids))
            .values(metrics_version=firm_table.c.metrics_version + 1, updated_at=utcnow())
        )
        existing = _existing(session, platform_org_id, [r.txn_id for r in rows])
        fresh: list[CleanRow] = []
        seen: dict[str, str] = {}
        for pos, row in enumerate(rows):
            prior = existing.get(row.txn_id) or seen.get(row.txn_id)
            if prior is None:
                seen[row.txn_id] = row.content_hash
                fresh.append(row)
            elif prior == row.content_hash:
                outcome.duplicates += 1
            else:
                outcome.conflicts.append(
                    (
                        pos,
                        "txn_id already stored with different content (transactions are immutable)",
                    )
                )
        if fresh:
            now = utcnow()
            session.execute(
                insert(txn),
                [
                    {
                        "platform_org_id": platform_org_id,
                        "firm_id": r.firm_id,
                        "txn_id": r.txn_id,
                        "type": r.type,
                        "occurred_at": r.occurred_at,
                        "local_month": r.local_month,
                        "amount_minor": r.amount_minor,
                        "currency": r.currency,
                        "order_ref": r.order_ref,
                        "buyer_hash": r.buyer_hash,
                        "channel": r.channel,
                        "category": r.category,
                        "refund_of": r.refund_of,
                        "content_hash": r.content_hash,
                        "ingested_at": now,
                    }
                    for r in fresh
                ],
            )
            _apply_metrics(session, fresh)
            refs = session.execute(
                select(firm_table.c.firm_ref).where(
                    firm_table.c.id.in_(sorted({r.firm_id for r in fresh}))
                )
            ).scalars()
            emit(
                session,
                org_ids=[platform_org_id],
                type="transactions.ingested",
                data={
                    "firm_refs": sorted(refs),
                    "inserted": len(fresh),
                    "duplicates": outcome.duplicates,
                    "conflicts": len(outcome.conflicts),
                },
            )
        session.commit()
    TRANSACTIONS_INGESTED.inc(len(fresh))
    outcome.inserted = len(fresh)
    return outcome


def _apply_metrics(session: Any, fresh: list[CleanRow]) -> None:
    metric_rows: dict[tuple[int, str, str], dict[str, Any]] = {}
    buyer_delta: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in fresh:
        key = (r.firm_id, r.local_month, r.currency)
        m = metric_rows.get(key)
        if m is None:
            m = {c: 0 for c in ADDITIVE}
            m.update(
                firm_id=r.firm_id,
                month=r.local_month,
                currency=r.currency,
                active_day_mask=0,
                top_buyer_sales_minor=0,
            )
            metric_rows[key] = m
        amount_col, count_col = METRIC_SUMS[r.type]
        m[amount_col] += r.amount_minor
        m[count_col] += 1
        if r.type == "sale":
            m["active_day_mask"] |= 1 << (r.local_day - 1)
            if r.buyer_hash:
                d = buyer_delta[(r.firm_id, r.local_month, r.currency, r.buyer_hash)]
                d[0] += r.amount_minor
                d[1] += 1
    if buyer_delta:
        prior = _prior_buyers(session, list(buyer_delta))
        for key, (sales, orders) in buyer_delta.items():
            before_sales, before_orders = prior.get(key, (0, 0))
            m = metric_rows[key[:3]]
            if key not in prior:
                m["distinct_buyers"] += 1
            if before_orders < 2 <= before_orders + orders:
                m["repeat_buyers"] += 1
            m["top_buyer_sales_minor"] = max(m["top_buyer_sales_minor"], before_sales + sales)
        _upsert(
            session,
            FirmMonthBuyer.__table__,  # type: ignore[attr-defined]
            [
                {
                    "firm_id": k[0],
                    "month": k[1],
                    "currency": k[2],
                    "buyer_hash": k[3],
                    "sales_minor": v[0],
                    "orders": v[1],
                }
                for k, v in buyer_delta.items()
            ],
            ["firm_id", "month", "currency", "buyer_hash"],
            _buyer_set,
        )
    _upsert(
        session,
        FirmMonthMetric.__table__,  # type: ignore[attr-defined]
        list(metric_rows.values()),
        ["firm_id", "month", "currency"],
        _metric_set,
    )


def _prior_buyers(
    session: Any, keys: list[tuple[int, str, str, str]]
) -> dict[tuple[int, str, str, str], tuple[int, int]]:
    table = FirmMonthBuyer.__table__  # type: ignore[attr-defined]
    by_firm_month: dict[tuple[int, str], list[str]] = defaultdict(list)
    for firm_id, month, _cur, buyer in keys:
        by_firm_month[(firm_id, month)].append(buyer)
    found: dict[tuple[int, str, str, str], tuple[int, int]] = {}
    for (firm_id, month), buyers in by_firm_month.items():
        for i in range(0, len(buyers), IN_BATCH):
            stmt = select(
                table.c.currency, table.c.buyer_hash, table.c.sales_minor, table.c.orders
            ).where(
                table.c.firm_id == firm_id,
                table.c.month == month,
                table.c.buyer_hash.in_(buyers[i : i + IN_BATCH]),
            )
            for cur, buyer, sales, orders in session.execute(stmt):
                found[(firm_id, month, cur, buyer)] = (sales, orders)
    return found
