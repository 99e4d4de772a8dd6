"""Fold a chunk of new raw rows into the firm x month x currency metrics (same transaction).

A chunk is aggregated in memory first, then merged with the stored figures of the months it
touches and written back as absolute values: two statements per chunk, whatever its size.
Distinct buyers, repeat buyers and the top buyer need per-buyer totals, kept in
firm_month_buyer (pseudonymous buyer hashes only).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.credit.ingest.rows import (
    COL_AMOUNT,
    COL_BUYER,
    COL_CURRENCY,
    COL_DAY,
    COL_FIRM,
    COL_MONTH,
    COL_TYPE,
    StoredRow,
)
from services.credit.ingest.sql import Dialect, in_batches

METRIC_COLUMNS = (
    "sales_minor",
    "sales_count",
    "refund_minor",
    "refund_count",
    "chargeback_minor",
    "chargeback_count",
    "payout_minor",
    "payout_count",
    "fee_minor",
    "fee_count",
    "distinct_buyers",
    "repeat_buyers",
    "top_buyer_sales_minor",
    "active_day_mask",
)
# Position of each type's amount sum; its count follows it.
SUM_AT = {"sale": 0, "refund": 2, "chargeback": 4, "payout": 6, "fee": 8}
DISTINCT, REPEAT, TOP, MASK = 10, 11, 12, 13
ADDITIVE = range(10)
MonthKey = tuple[int, str, str]
BuyerKey = tuple[int, str, str, str]
Aggregates = tuple[dict[MonthKey, list[int]], dict[BuyerKey, list[int]]]


def aggregate(rows: list[StoredRow]) -> Aggregates:
    """Sums, counts and active days per month, and sales per buyer, of a list of rows."""
    months: dict[MonthKey, list[int]] = {}
    buyers: dict[BuyerKey, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        key = (row[COL_FIRM], row[COL_MONTH], row[COL_CURRENCY])
        figures = months.get(key)
        if figures is None:
            figures = months[key] = [0] * len(METRIC_COLUMNS)
        kind = row[COL_TYPE]
        at = SUM_AT[kind]
        amount = row[COL_AMOUNT]
        figures[at] += amount
        figures[at + 1] += 1
        if kind == "sale":
            figures[MASK] |= 1 << (row[COL_DAY] - 1)
            buyer = row[COL_BUYER]
            if buyer is not None:
                totals = buyers[(*key, buyer)]
                totals[0] += amount
                totals[1] += 1
    return months, buyers


def _prior_months(dialect: Dialect, cur: Any, keys: list[MonthKey]) -> dict[MonthKey, list[int]]:
    firms = sorted({k[0] for k in keys})
    wanted = set(keys)
    lo, hi = min(k[1] for k in keys), max(k[1] for k in keys)
    found: dict[MonthKey, list[int]] = {}
    for batch in in_batches(firms):
        cur.execute(
            f"SELECT firm_id, month, currency, {', '.join(METRIC_COLUMNS)} "  # noqa: S608
            f"FROM firm_month_metric WHERE firm_id IN ({dialect.marks(len(batch))}) "
            f"AND month >= {dialect.mark} AND month <= {dialect.mark}",
            [*batch, lo, hi],
        )
        for firm_id, month, currency, *figures in cur.fetchall():
            if (firm_id, month, currency) in wanted:
                found[(firm_id, month, currency)] = [int(v) for v in figures]
    return found


def _prior_buyers(
    dialect: Dialect, cur: Any, keys: list[BuyerKey]
) -> dict[BuyerKey, tuple[int, int]]:
    by_month: dict[tuple[int, str], list[str]] = defaultdict(list)
    for firm_id, month, _currency, buyer in keys:
        by_month[(firm_id, month)].append(buyer)
    found: dict[BuyerKey, tuple[int, int]] = {}
    for (firm_id, month), hashes in by_month.items():
        for batch in in_batches(sorted(set(hashes))):
            cur.execute(
                "SELECT currency, buyer_hash, sales_minor, orders FROM firm_month_buyer "  # noqa: S608
                f"WHERE firm_id = {dialect.mark} AND month = {dialect.mark} "
                f"AND buyer_hash IN ({dialect.marks(len(batch))})",
                [firm_id, month, *batch],
            )
            for currency, buyer, sales, orders in cur.fetchall():
                found[(firm_id, month, currency, buyer)] = (int(sales), int(orders))
    return found


def _upsert(
    dialect: Dialect, cur: Any, table: str, keys: list[str], cols: list[str], rows: list[Any]
) -> None:
    names = keys + cols
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols)
    cur.executemany(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({dialect.marks(len(names))}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}",
        rows,
    )


def apply(dialect: Dialect, cur: Any, aggregates: Aggregates) -> None:
    """Add new rows' aggregates (consumed) to their months' stored metrics (caller holds the
    firms' locks)."""
    months, buyers = aggregates
    prior = _prior_months(dialect, cur, list(months))
    for key, figures in months.items():
        before = prior.get(key)
        if before is None:
            continue
        for i in ADDITIVE:
            figures[i] += before[i]
        figures[DISTINCT], figures[REPEAT], figures[TOP] = before[DISTINCT : TOP + 1]
        figures[MASK] |= before[MASK]
    seen_before = [k for k in buyers if k[:3] in prior and prior[k[:3]][DISTINCT] > 0]
    stored = _prior_buyers(dialect, cur, seen_before) if seen_before else {}
    buyer_rows = []
    for buyer_key, (sales, orders) in buyers.items():
        figures = months[buyer_key[:3]]
        before_sales, before_orders = stored.get(buyer_key, (0, 0))
        if before_orders == 0:
            figures[DISTINCT] += 1
        if before_orders < 2 <= before_orders + orders:
            figures[REPEAT] += 1
        total = before_sales + sales
        if total > figures[TOP]:
            figures[TOP] = total
        buyer_rows.append((*buyer_key, total, before_orders + orders))
    if buyer_rows:
        _upsert(
            dialect,
            cur,
            "firm_month_buyer",
            ["firm_id", "month", "currency", "buyer_hash"],
            ["sales_minor", "orders"],
            buyer_rows,
        )
    _upsert(
        dialect,
        cur,
        "firm_month_metric",
        ["firm_id", "month", "currency"],
        list(METRIC_COLUMNS),
        [(*key, *figures) for key, figures in months.items()],
    )
