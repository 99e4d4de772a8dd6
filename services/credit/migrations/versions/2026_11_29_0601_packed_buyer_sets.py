"""packed buyer sets: firm_month_buyer (a row per buyer) becomes firm_month_buyer_set

Revision ID: 0601
Revises: 0101, 0201, 0402, 0501
Create Date: 2026-11-29 05:30:00

One row per firm, month and currency holds every buyer's totals packed (28 bytes a buyer;
services/credit/ingest/buyer_sets.py). Existing rows are packed here, so distinct and repeat
buyers keep growing exactly across uploads made before and after the change. The record
layout is copied, not imported: a migration must not change when the code does.
"""

import struct
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0601"
down_revision: str | Sequence[str] | None = ("0101", "0201", "0402", "0501")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD = struct.Struct("<16sqI")
FIRMS_PER_BATCH = 200


def _create_set_table() -> None:
    op.create_table(
        "firm_month_buyer_set",
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("buyers", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firm.id"], name=op.f("fk_firm_month_buyer_set_firm_id_firm")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "month", "currency", name=op.f("pk_firm_month_buyer_set")
        ),
    )


def _create_row_table() -> None:
    op.create_table(
        "firm_month_buyer",
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("buyer_hash", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sales_minor", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firm.id"], name=op.f("fk_firm_month_buyer_firm_id_firm")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "month", "currency", "buyer_hash", name=op.f("pk_firm_month_buyer")
        ),
    )


def _pack_firms(bind: sa.engine.Connection, firm_ids: list[int]) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT firm_id, month, currency, buyer_hash, sales_minor, orders "
            "FROM firm_month_buyer WHERE firm_id IN :ids"
        ).bindparams(sa.bindparam("ids", expanding=True)),
        {"ids": firm_ids},
    )
    sets: dict[tuple[int, str, str], list[bytes]] = {}
    for firm_id, month, currency, buyer, sales, orders in rows:
        record = RECORD.pack(bytes.fromhex(buyer), int(sales), int(orders))
        sets.setdefault((firm_id, month, currency), []).append(record)
    if sets:
        bind.execute(
            sa.text(
                "INSERT INTO firm_month_buyer_set (firm_id, month, currency, buyers) "
                "VALUES (:firm_id, :month, :currency, :buyers)"
            ),
            [
                {"firm_id": f, "month": m, "currency": c, "buyers": b"".join(parts)}
                for (f, m, c), parts in sets.items()
            ],
        )


def upgrade() -> None:
    _create_set_table()
    bind = op.get_bind()
    # A few hundred firms at a time: memory stays bounded whatever the table's size.
    firm_ids = [
        int(f) for (f,) in bind.execute(sa.text("SELECT DISTINCT firm_id FROM firm_month_buyer"))
    ]
    for i in range(0, len(firm_ids), FIRMS_PER_BATCH):
        _pack_firms(bind, firm_ids[i : i + FIRMS_PER_BATCH])
    op.drop_table("firm_month_buyer")


def downgrade() -> None:
    _create_row_table()
    bind = op.get_bind()
    insert = sa.text(
        "INSERT INTO firm_month_buyer "
        "(firm_id, month, currency, buyer_hash, sales_minor, orders) "
        "VALUES (:firm_id, :month, :currency, :buyer_hash, :sales_minor, :orders)"
    )
    sets = bind.execute(
        sa.text("SELECT firm_id, month, currency, buyers FROM firm_month_buyer_set")
    )
    for firm_id, month, currency, packed in list(sets):
        records = [
            {
                "firm_id": firm_id,
                "month": month,
                "currency": currency,
                "buyer_hash": buyer.hex(),
                "sales_minor": sales,
                "orders": orders,
            }
            for buyer, sales, orders in RECORD.iter_unpack(bytes(packed))
        ]
        if records:
            bind.execute(insert, records)
    op.drop_table("firm_month_buyer_set")
