"""Scoring records of metric rows: exact round trips, the 0701 backfill, and drift detection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given
from hypothesis import strategies as st

from services.cli.stack import MIGRATIONS
from services.credit import metric_record, scoring_repository
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


FIELDS = ("f", "m", "c", "s", "r", "cb", "top", "d", "rep", "mask")


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
                **dict(zip(FIELDS, row, strict=True)),
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
        engine.dispose()
        command.downgrade(cfg, "0601")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("firm_month_metric")}
        assert "packed" not in columns and "sales_minor" in columns
    finally:
        engine.dispose()


def _matrix(engine: sa.Engine, firm_ids: tuple[int, int]) -> dict[tuple[int, int, str], list[int]]:
    """What batch scoring reads of the firms, by (firm, month number, currency)."""
    with engine.connect() as conn:
        rows, currencies = scoring_repository.metric_matrix(conn, *firm_ids, "2000-01", "2100-01")
    return {(int(r[0]), int(r[1]), currencies[r[2]]): [int(v) for v in r[3:]] for r in rows}


def _expected(metrics: list[tuple[Any, ...]]) -> dict[tuple[int, int, str], list[int]]:
    # metric_matrix's column order: sales, refunds, chargebacks, distinct, repeat, top, mask.
    return {
        (f, metric_record.month_number(m), c): [s, r, cb, d, rep, top, mask]
        for f, m, c, s, r, cb, top, d, rep, mask in metrics
    }


@pytest.fixture
def engine(make_database: Callable[[str], str]) -> Iterator[sa.Engine]:
    """A credit database at head holding firms 1 and 2 and METRICS, with their records."""
    engine = make_engine(make_database("credit"))
    try:
        with engine.begin() as conn:
            _insert(conn, with_records=True)
        yield engine
    finally:
        engine.dispose()


def test_rows_written_by_an_older_release_are_read_from_their_columns(engine: sa.Engine) -> None:
    assert _matrix(engine, (1, 2)) == _expected(METRICS)
    # An older credit pod, mid rolling update: its upsert writes the figures and no record
    # (new rows get none; changed rows keep the old one, until the trigger clears it).
    later = [
        (1, "2026-02", "USD", 500, 1, 99, 400, 2, 1, 0b111),  # changed figures
        (2, "2026-01", "JPY", 7, 0, 0, 7, 1, 0, 1),  # a new row
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO firm_month_metric (firm_id, month, currency, sales_minor, "
                "sales_count, refund_minor, refund_count, chargeback_minor, "
                "chargeback_count, payout_minor, payout_count, fee_minor, fee_count, "
                "top_buyer_sales_minor, distinct_buyers, repeat_buyers, active_day_mask) "
                "VALUES (:f, :m, :c, :s, 1, :r, 0, :cb, 0, 0, 0, 0, 0, :top, :d, :rep, :mask) "
                "ON CONFLICT (firm_id, month, currency) DO UPDATE SET "
                "sales_minor = excluded.sales_minor, refund_minor = excluded.refund_minor, "
                "chargeback_minor = excluded.chargeback_minor, "
                "top_buyer_sales_minor = excluded.top_buyer_sales_minor, "
                "distinct_buyers = excluded.distinct_buyers, "
                "repeat_buyers = excluded.repeat_buyers, "
                "active_day_mask = excluded.active_day_mask"
            ),
            [dict(zip(FIELDS, row, strict=True)) for row in later],
        )
    with engine.connect() as conn:
        without = conn.execute(
            sa.text("SELECT firm_id, month FROM firm_month_metric WHERE packed IS NULL")
        ).all()
    assert sorted(tuple(r) for r in without) == [(1, "2026-02"), (2, "2026-01")]
    assert _matrix(engine, (1, 2)) == _expected([METRICS[0], METRICS[2], *later])
    # A figure rewritten to the same value leaves the record alone.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE firm_month_metric SET sales_minor = sales_minor"))
        kept = conn.execute(
            sa.text("SELECT count(*) FROM firm_month_metric WHERE packed IS NOT NULL")
        ).scalar_one()
    assert kept == 2


def test_a_record_out_of_step_with_its_columns_is_reported(engine: sa.Engine) -> None:
    assert record_disagreements(engine, 1) == []
    # A record written wrong (figures untouched, so nothing clears it) is caught.
    wrong = metric_record.pack(1, "2026-02", "USD", 100, 0, 99, 99, 1, 0, 1 << 30)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE firm_month_metric SET packed = :p WHERE month = '2026-02'"),
            {"p": wrong},
        )
    (problem,) = record_disagreements(engine, 1)
    assert "2026-02" in problem and "USD" in problem
