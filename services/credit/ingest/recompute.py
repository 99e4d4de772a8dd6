"""Recompute a firm's monthly metrics from its raw rows, to check the stored ones against.

Independent of the incremental path in metrics.py on purpose (plain GROUP BY queries): a
consistency check that reused the code it checks would prove nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import metric_record
from services.credit.ingest.metrics import METRIC_COLUMNS
from services.credit.models import FirmMonthMetric, SalesTransaction

TYPE_COLUMNS = {
    "sale": ("sales_minor", "sales_count"),
    "refund": ("refund_minor", "refund_count"),
    "chargeback": ("chargeback_minor", "chargeback_count"),
    "payout": ("payout_minor", "payout_count"),
    "fee": ("fee_minor", "fee_count"),
}
MonthFigures = dict[tuple[str, str], dict[str, int]]


def from_raw(engine: Engine, firm_id: int) -> MonthFigures:
    """(month, currency) -> every metric column, computed from the firm's raw rows alone."""
    t = SalesTransaction.__table__  # type: ignore[attr-defined]
    out: MonthFigures = defaultdict(lambda: dict.fromkeys(METRIC_COLUMNS, 0))
    with Session(engine) as session:
        sums = session.execute(
            select(
                t.c.local_month, t.c.currency, t.c.type, func.sum(t.c.amount_minor), func.count()
            )
            .where(t.c.firm_id == firm_id)
            .group_by(t.c.local_month, t.c.currency, t.c.type)
        )
        for month, currency, kind, total, count in sums:
            amount_col, count_col = TYPE_COLUMNS[kind]
            out[(month, currency)][amount_col] = int(total)
            out[(month, currency)][count_col] = int(count)
        days = session.execute(
            select(t.c.local_month, t.c.currency, t.c.local_day)
            .where(t.c.firm_id == firm_id, t.c.type == "sale")
            .distinct()
        )
        for month, currency, day in days:
            out[(month, currency)]["active_day_mask"] |= 1 << (int(day) - 1)
        buyers = session.execute(
            select(t.c.local_month, t.c.currency, func.sum(t.c.amount_minor), func.count())
            .where(t.c.firm_id == firm_id, t.c.type == "sale", t.c.buyer_hash.is_not(None))
            .group_by(t.c.local_month, t.c.currency, t.c.buyer_hash)
        )
        for month, currency, total, count in buyers:
            figures = out[(month, currency)]
            figures["distinct_buyers"] += 1
            figures["repeat_buyers"] += int(count) >= 2
            figures["top_buyer_sales_minor"] = max(figures["top_buyer_sales_minor"], int(total))
    return dict(out)


def _metric_rows(engine: Engine, firm_id: int) -> list[Any]:
    m = FirmMonthMetric.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        return list(session.execute(select(m).where(m.c.firm_id == firm_id)))


def _figures(rows: list[Any]) -> MonthFigures:
    return {(r.month, r.currency): {c: int(getattr(r, c)) for c in METRIC_COLUMNS} for r in rows}


def stored(engine: Engine, firm_id: int) -> MonthFigures:
    """(month, currency) -> every metric column, as the metric table holds them."""
    return _figures(_metric_rows(engine, firm_id))


def _record_problems(rows: list[Any]) -> list[str]:
    # A row without a record is read from its columns, so it cannot differ.
    problems = []
    for r in rows:
        if r.packed is None:
            continue
        (record,) = metric_record.unpack(bytes(r.packed))
        expected = {
            "firm_id": r.firm_id,
            "month": metric_record.month_number(r.month),
            "currency": r.currency.encode("ascii"),
            **{f: int(getattr(r, c)) for f, c in metric_record.FIELD_COLUMNS.items()},
        }
        found = {name: record[name].item() for name in expected}
        if found != expected:
            problems.append(
                f"firm {r.firm_id} {(r.month, r.currency)}: record {found} columns {expected}"
            )
    return problems


def record_disagreements(engine: Engine, firm_id: int) -> list[str]:
    """Metric rows whose scoring record (as batch scoring decodes it) differs from their columns
    (a row without a record is read from its columns, so it cannot differ)."""
    return _record_problems(_metric_rows(engine, firm_id))


def disagreements(engine: Engine, firm_id: int) -> list[str]:
    """Human-readable differences between stored metrics and the raw rows, and between each
    row's columns and its scoring record (empty when in step)."""
    rows = _metric_rows(engine, firm_id)  # read once: for the figures and for the records
    raw, kept = from_raw(engine, firm_id), _figures(rows)
    problems = _record_problems(rows)
    for key in sorted(set(raw) | set(kept)):
        a, b = raw.get(key), kept.get(key)
        if a != b:
            problems.append(f"firm {firm_id} {key}: raw {a} stored {b}")
    return problems
