"""Scoring records of metric rows: exact round trips, the 0701 backfill, and drift detection."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given
from hypothesis import strategies as st

from services.cli.stack import MIGRATIONS
from services.credit import metric_record
from services.credit.ingest.recompute import record_disagreements
from shared.db import make_engine
from shared.migrations import alembic_config, upgrade_to_head
from tests.credit.conftest import insert_bare_firms

INT64 = st.integers(-(2**63), 2**63 - 1)
COUNT = st.integers(0, 2**31 - 1)


@given(
    firm_id=st.integers(1, 2**63 - 1),
    year=st.integers(1900, 2099),
    month=st.integers(1, 12),
    currency=st.sampled_from(["CNY", "USD", "JPY", "EUR", "HKD"]),
    amounts=st.tuples(INT64, INT64, INT64, INT64),
    buyers=st.tuples(COUNT, COUNT),
    mask=st.integers(0, 2**31 - 1),
)
def test_records_round_trip_exactly(
    firm_id: int,
    year: int,
    month: int,
    currency: str,
    amounts: tuple[int, int, int, int],
    buyers: tuple[int, int],
    mask: int,
) -> None:
    key = f"{year:04d}-{month:02d}"
    blob = metric_record.pack(firm_id, key, currency, *amounts, *buyers, mask)
    (record,) = metric_record.unpack(blob)
    assert len(blob) == 64
    assert record["firm_id"] == firm_id and record["month"] == year * 12 + month
    assert record["currency"] == currency.encode()
    fields = ("sales", "refunds", "chargebacks", "top_buyer_sales")
    assert tuple(int(record[f]) for f in fields) == amounts
    assert (int(record["distinct_buyers"]), int(record["repeat_buyers"])) == buyers
    assert int(record["active_day_mask"]) == mask


def test_a_torn_record_buffer_is_refused() -> None:
    blob = metric_record.pack(1, "2026-01", "CNY", 1, 2, 3, 4, 5, 6, 7)
    with pytest.raises(ValueError, match="65 bytes"):
        metric_record.unpack(blob + b"\0")


METRICS = [
    # firm, month, currency, sales, refunds, chargebacks, top buyer, distinct, repeat, mask
    (1, "2026-01", "CNY", 1_000_00, 5_00, 0, 400_00, 12, 3, 0b1011),
    (1, "2026-02", "USD", 99, 0, 99, 99, 1, 0, 1 << 30),
    (2, "2025-12", "JPY", 123_456_789_012, 0, 0, 0, 0, 0, 0),
]


def _insert(conn: sa.Connection, with_records: bool) -> None:
    """Firms 1 and 2 and METRICS, straight in SQL (with_records: the head schema's column)."""
    insert_bare_firms(conn, (1, 2))
    record = ", packed" if with_records else ""
    conn.execute(
        sa.text(
            "INSERT INTO firm_month_metric (firm_id, month, currency, sales_minor, sales_count, "
            "refund_minor, refund_count, chargeback_minor, chargeback_count, payout_minor, "
            "payout_count, fee_minor, fee_count, top_buyer_sales_minor, distinct_buyers, "
            f"repeat_buyers, active_day_mask{record}) VALUES (:f, :m, :c, :s, 1, :r, 0, :cb, "
            f"0, 0, 0, 0, 0, :top, :d, :rep, :mask{record.replace(' ', ' :')})"
        ),
        [
            {
                **dict(
                    zip(
                        ("f", "m", "c", "s", "r", "cb", "top", "d", "rep", "mask"), row, strict=True
                    )
                ),
                "packed": metric_record.pack(*row),
            }
            for row in METRICS
        ],
    )


def test_migration_0701_gives_existing_rows_their_records(
    make_database: Callable[[str], str],
) -> None:
    url = make_database("credit")
    cfg = alembic_config(MIGRATIONS["credit"], url)
    command.downgrade(cfg, "0601")  # before the records
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _insert(conn, with_records=False)
        engine.dispose()
        upgrade_to_head(MIGRATIONS["credit"], url)
        with engine.connect() as conn:
            packed = {
                (f, m, c): bytes(blob)
                for f, m, c, blob in conn.execute(
                    sa.text("SELECT firm_id, month, currency, packed FROM firm_month_metric")
                )
            }
        assert packed == {(f, m, c): metric_record.pack(f, m, c, *fig) for f, m, c, *fig in METRICS}
        assert record_disagreements(engine, 1) == [] and record_disagreements(engine, 2) == []
        # The column is required from now on: a writer that leaves it out fails loudly.
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE firm_month_metric SET packed = NULL"))
        engine.dispose()
        command.downgrade(cfg, "0601")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("firm_month_metric")}
        assert "packed" not in columns and "sales_minor" in columns
    finally:
        engine.dispose()


def test_a_record_out_of_step_with_its_columns_is_reported(
    make_database: Callable[[str], str],
) -> None:
    engine = make_engine(make_database("credit"))
    try:
        with engine.begin() as conn:
            _insert(conn, with_records=True)
        assert record_disagreements(engine, 1) == []
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE firm_month_metric SET sales_minor = sales_minor + 1 "
                    "WHERE month = '2026-02'"
                )
            )
        (problem,) = record_disagreements(engine, 1)
        assert "2026-02" in problem and "USD" in problem
    finally:
        engine.dispose()
