"""metric scoring records: firm_month_metric.packed, the row's scoring figures in 64 bytes

Revision ID: 0701
Revises: 0601
Create Date: 2026-11-29 13:00:00

Batch scoring reads these records instead of every column (services/credit/metric_record.py).
An expand-only change, safe while credit pods of the previous release still write: the column
may be NULL (the reader packs such rows from their columns), and a trigger sets it to NULL when
a writer changes the figures without rewriting the record. Existing rows get theirs here, each
only if its figures are still the ones packed. The record layout is copied, not imported: a
migration must not change when the code does.
"""

import struct
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0701"
down_revision: str | Sequence[str] | None = "0601"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD = struct.Struct("<qi4sqqqqiiI4x")
FIRMS_PER_BATCH = 500
FIGURES = (
    "sales_minor",
    "refund_minor",
    "chargeback_minor",
    "top_buyer_sales_minor",
    "distinct_buyers",
    "repeat_buyers",
    "active_day_mask",
)
TRIGGER = "firm_month_metric_stale_record"
# Figures changed without their record (a writer of an older release): the record is cleared.
_SQLITE_TRIGGER = """
CREATE TRIGGER firm_month_metric_stale_record
AFTER UPDATE OF sales_minor, refund_minor, chargeback_minor, top_buyer_sales_minor,
    distinct_buyers, repeat_buyers, active_day_mask ON firm_month_metric
WHEN NEW.packed IS OLD.packed AND (
    NEW.sales_minor IS NOT OLD.sales_minor OR NEW.refund_minor IS NOT OLD.refund_minor
    OR NEW.chargeback_minor IS NOT OLD.chargeback_minor
    OR NEW.top_buyer_sales_minor IS NOT OLD.top_buyer_sales_minor
    OR NEW.distinct_buyers IS NOT OLD.distinct_buyers
    OR NEW.repeat_buyers IS NOT OLD.repeat_buyers
    OR NEW.active_day_mask IS NOT OLD.active_day_mask)
BEGIN
    UPDATE firm_month_metric SET packed = NULL WHERE rowid = NEW.rowid;
END
"""
_POSTGRES_FUNCTION = """
CREATE FUNCTION firm_month_metric_stale_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.packed IS NOT DISTINCT FROM OLD.packed
       AND (NEW.sales_minor, NEW.refund_minor, NEW.chargeback_minor, NEW.top_buyer_sales_minor,
            NEW.distinct_buyers, NEW.repeat_buyers, NEW.active_day_mask)
           IS DISTINCT FROM
           (OLD.sales_minor, OLD.refund_minor, OLD.chargeback_minor, OLD.top_buyer_sales_minor,
            OLD.distinct_buyers, OLD.repeat_buyers, OLD.active_day_mask) THEN
        NEW.packed := NULL;
    END IF;
    RETURN NEW;
END
$$
"""
_POSTGRES_TRIGGER = (
    "CREATE TRIGGER firm_month_metric_stale_record BEFORE UPDATE ON firm_month_metric "
    "FOR EACH ROW EXECUTE FUNCTION firm_month_metric_stale_record()"
)


def _pack_firms(bind: sa.engine.Connection, first_id: int, last_id: int) -> None:
    rows = bind.execute(
        sa.text(
            f"SELECT firm_id, month, currency, {', '.join(FIGURES)} FROM firm_month_metric "  # noqa: S608
            "WHERE firm_id BETWEEN :lo AND :hi"
        ),
        {"lo": first_id, "hi": last_id},
    ).all()
    if not rows:
        return
    # Compare and set: a row whose figures changed since they were read keeps NULL, and the
    # reader packs it from its columns.
    bind.execute(
        sa.text(
            "UPDATE firm_month_metric SET packed = :packed "  # noqa: S608
            "WHERE firm_id = :f AND month = :m AND currency = :c AND "
            + " AND ".join(f"{c} = :{c}" for c in FIGURES)
        ),
        [
            {
                "f": f,
                "m": m,
                "c": c,
                **dict(zip(FIGURES, figures, strict=True)),
                "packed": RECORD.pack(
                    f, int(m[:4]) * 12 + int(m[5:7]), c.encode("ascii"), *map(int, figures)
                ),
            }
            for f, m, c, *figures in rows
        ],
    )


def upgrade() -> None:
    op.add_column("firm_month_metric", sa.Column("packed", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)
    bind = op.get_bind()
    firm_ids = [
        int(f)
        for (f,) in bind.execute(
            sa.text("SELECT DISTINCT firm_id FROM firm_month_metric ORDER BY firm_id")
        )
    ]
    for i in range(0, len(firm_ids), FIRMS_PER_BATCH):
        batch = firm_ids[i : i + FIRMS_PER_BATCH]
        _pack_firms(bind, batch[0], batch[-1])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON firm_month_metric")
        op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    with op.batch_alter_table("firm_month_metric") as batch_op:
        batch_op.drop_column("packed")
