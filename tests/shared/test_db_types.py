"""Exact money and UTC timestamps on the embedded database."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from shared.db import MinorUnits, UTCDateTime, make_engine


def test_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    md = MetaData()
    t = Table(
        "t",
        md,
        Column("id", Integer, primary_key=True),
        Column("m", MinorUnits(2)),
        Column("ts", UTCDateTime()),
    )
    md.create_all(engine)
    local = datetime(2026, 11, 11, 0, 30, tzinfo=timezone(timedelta(hours=8)))
    with engine.begin() as conn:
        conn.execute(insert(t), [{"m": Decimal("12345678901.23"), "ts": local}])
        m, ts = conn.execute(select(t.c.m, t.c.ts)).one()
    assert m == Decimal("12345678901.23")
    assert ts == local and ts.tzinfo == UTC


def test_sub_minor_precision_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="decimals"):
        MinorUnits(2).process_bind_param(Decimal("1.001"), None)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)
