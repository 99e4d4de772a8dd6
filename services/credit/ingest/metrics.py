"""Fold a chunk of new raw rows into the firm x month x currency metrics (same transaction).

A chunk is aggregated in memory first (before the write lock), then merged with the stored
figures of the months it touches and written back as absolute values: two statements per
chunk, whatever its size. Distinct buyers, repeat buyers and the top buyer need per-buyer
totals, kept packed per firm-month in firm_month_buyer_set (buyer_sets.py; pseudonymous buyer
hashes only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.credit import metric_record
from services.credit.ingest import buyer_sets
from services.credit.ingest.buyer_sets import BuyerSet, Totals
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


@dataclass
class Aggregates:
    """A chunk's figures per firm-month-currency, before they meet the stored ones."""

    months: dict[MonthKey, list[int]]
    buyers: dict[MonthKey, Totals]
    # The buyers packed as if none had been stored before (the usual case of an upload).
    sets: dict[MonthKey, BuyerSet]


def aggregate(rows: list[StoredRow]) -> Aggregates:
    """Sums, counts and active days per month, and sales per buyer, of a list of rows."""
    months: dict[MonthKey, list[int]] = {}
    buyers: dict[MonthKey, Totals] = {}
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
                month_buyers = buyers.get(key)
                if month_buyers is None:
                    month_buyers = buyers[key] = {}
                totals = month_buyers.get(buyer)
                if totals is None:
                    month_buyers[buyer] = [amount, 1]
                else:
                    totals[0] += amount
                    totals[1] += 1
    sets = {key: buyer_sets.pack(totals) for key, totals in buyers.items()}
    return Aggregates(months, buyers, sets)


def _rows_of_keys(
    dialect: Dialect, cur: Any, table: str, columns: list[str], keys: list[MonthKey]
) -> dict[MonthKey, list[Any]]:
    """(firm, month, currency) -> the other columns of the table's rows with those keys."""
    firms = sorted({k[0] for k in keys})
    wanted = set(keys)
    lo, hi = min(k[1] for k in keys), max(k[1] for k in keys)
    found: dict[MonthKey, list[Any]] = {}
    for batch in in_batches(firms):
        cur.execute(
            f"SELECT firm_id, month, currency, {', '.join(columns)} FROM {table} "  # noqa: S608
            f"WHERE firm_id IN ({dialect.marks(len(batch))}) "
            f"AND month >= {dialect.mark} AND month <= {dialect.mark}",
            [*batch, lo, hi],
        )
        for firm_id, month, currency, *values in cur.fetchall():
            if (firm_id, month, currency) in wanted:
                found[(firm_id, month, currency)] = values
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
    months = aggregates.months
    prior = {
        key: [int(v) for v in figures]
        for key, figures in _rows_of_keys(
            dialect, cur, "firm_month_metric", list(METRIC_COLUMNS), list(months)
        ).items()
    }
    for key, figures in months.items():
        before = prior.get(key)
        if before is None:
            continue
        for i in ADDITIVE:
            figures[i] += before[i]
        figures[DISTINCT], figures[REPEAT], figures[TOP] = before[DISTINCT : TOP + 1]
        figures[MASK] |= before[MASK]
    sets = aggregates.sets
    seen_before = [k for k in sets if k in prior and prior[k][DISTINCT] > 0]
    if seen_before:
        stored = {
            key: bytes(values[0])
            for key, values in _rows_of_keys(
                dialect, cur, "firm_month_buyer_set", ["buyers"], seen_before
            ).items()
        }
        for key in seen_before:
            sets[key] = buyer_sets.merged(stored.get(key, b""), aggregates.buyers[key])
    for key, found in sets.items():
        months[key][DISTINCT : TOP + 1] = [found.distinct, found.repeat, found.top_sales]
    if sets:
        _upsert(
            dialect,
            cur,
            "firm_month_buyer_set",
            ["firm_id", "month", "currency"],
            ["buyers"],
            [(*key, found.packed) for key, found in sets.items()],
        )
    _upsert(
        dialect,
        cur,
        "firm_month_metric",
        ["firm_id", "month", "currency"],
        [*METRIC_COLUMNS, "packed"],
        [(*key, *figures, _record(key, figures)) for key, figures in months.items()],
    )


def _record(key: MonthKey, figures: list[int]) -> bytes:
    # The row's scoring record is rewritten with its figures, so the two never disagree.
    return metric_record.pack(
        *key,
        figures[SUM_AT["sale"]],
        figures[SUM_AT["refund"]],
        figures[SUM_AT["chargeback"]],
        figures[TOP],
        figures[DISTINCT],
        figures[REPEAT],
        figures[MASK],
    )
