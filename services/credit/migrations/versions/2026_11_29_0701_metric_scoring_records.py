"""metric scoring records: firm_month_metric.packed, the row's scoring figures in 64 bytes

Revision ID: 0701
Revises: 0601
Create Date: 2026-11-29 13:00:00

Batch scoring reads these records instead of every column (services/credit/metric_record.py).
Existing rows get theirs here, a few hundred firms at a time; then the column is required. The
record layout is copied, not imported: a migration must not change when the code does.
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


def _pack_firms(bind: sa.engine.Connection, first_id: int, last_id: int) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT firm_id, month, currency, sales_minor, refund_minor, chargeback_minor, "
            "top_buyer_sales_minor, distinct_buyers, repeat_buyers, active_day_mask "
            "FROM firm_month_metric WHERE firm_id BETWEEN :lo AND :hi"
        ),
        {"lo": first_id, "hi": last_id},
    ).all()
    if not rows:
        return
    bind.execute(
        sa.text(
            "UPDATE firm_month_metric SET packed = :packed "
            "WHERE firm_id = :f AND month = :m AND currency = :c"
        ),
        [
            {
                "f": f,
                "m": m,
                "c": c,
                "packed": RECORD.pack(
                    f, int(m[:4]) * 12 + int(m[5:7]), c.encode("ascii"), *map(int, figures)
                ),
            }
            for f, m, c, *figures in rows
        ],
    )


def upgrade() -> None:
    op.add_column("firm_month_metric", sa.Column("packed", sa.LargeBinary(), nullable=True))
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
    # SQLite cannot make a column required in place: batch mode copies the table once.
    with op.batch_alter_table("firm_month_metric") as batch_op:
        batch_op.alter_column("packed", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("firm_month_metric") as batch_op:
        batch_op.drop_column("packed")
