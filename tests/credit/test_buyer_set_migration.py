"""Migration 0601 packs per-buyer rows into buyer sets, and unpacks them on downgrade."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import command

from services.cli.stack import MIGRATIONS
from services.credit.ingest import buyer_sets
from shared.db import make_engine
from shared.migrations import alembic_config, upgrade_to_head
from tests.credit.conftest import insert_bare_firms

BUYERS = [
    (1, "2026-01", "CNY", "0" * 31 + "1", 1_000, 1),
    (1, "2026-01", "CNY", "ab" * 16, 25_000, 3),
    (1, "2026-02", "CNY", "ab" * 16, 7, 1),
    (1, "2026-02", "USD", "ff" * 16, 99, 2),
    (2, "2026-01", "CNY", "0" * 31 + "1", 5, 1),
]


def _rows(engine: sa.Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_buyer_rows_are_packed_and_unpacked_exactly(make_database: Callable[[str], str]) -> None:
    url = make_database("credit")
    cfg = alembic_config(MIGRATIONS["credit"], url)
    command.downgrade(cfg, "0501")  # before 0601: one row per buyer
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            insert_bare_firms(conn, (1, 2))
            conn.execute(
                sa.text("INSERT INTO firm_month_buyer VALUES (:f, :m, :c, :b, :s, :o)"),
                [dict(zip("fmcbso", row, strict=True)) for row in BUYERS],
            )
        engine.dispose()
        upgrade_to_head(MIGRATIONS["credit"], url)
        packed = _rows(engine, "SELECT firm_id, month, currency, buyers FROM firm_month_buyer_set")
        unpacked = sorted(
            (f, m, c, buyer, sales, orders)
            for f, m, c, blob in packed
            for buyer, (sales, orders) in buyer_sets.unpack(bytes(blob)).items()  # type: ignore[arg-type]
        )
        assert unpacked == sorted(BUYERS)
        assert len(packed) == 4  # one value per firm, month and currency
        engine.dispose()
        command.downgrade(cfg, "0501")
        assert sorted(_rows(engine, "SELECT * FROM firm_month_buyer")) == sorted(BUYERS)
    finally:
        engine.dispose()


def test_merging_adds_to_known_buyers_and_counts_repeat_buyers() -> None:
    first = buyer_sets.pack({"ab" * 16: [100, 1], "cd" * 16: [50, 1]})
    assert (first.distinct, first.repeat, first.top_sales) == (2, 0, 100)
    later = buyer_sets.merged(first.packed, {"cd" * 16: [80, 1], "ef" * 16: [10, 1]})
    assert (later.distinct, later.repeat, later.top_sales) == (3, 1, 130)
    assert buyer_sets.unpack(later.packed) == {
        "ab" * 16: [100, 1],
        "cd" * 16: [130, 2],
        "ef" * 16: [10, 1],
    }
    assert len(later.packed) == 3 * buyer_sets.RECORD.size
