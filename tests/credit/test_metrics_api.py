"""Monthly metrics: every figure against rows worked out by hand, per currency, as of a date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timezone
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from services.credit.app import create_app
from services.credit.config import CreditSettings
from services.credit.ingest.localtime import LocalCalendar, local_month_day
from services.credit.ingest.recompute import disagreements
from tests.credit.conftest import firm_body, txn
from tests.credit.test_ingest_api import fresh_principal


@pytest.fixture
def credit(credit_settings: CreditSettings) -> Iterator[TestClient]:
    """Chunks of 3 rows, so one upload spreads a month over several transactions."""
    settings = credit_settings.model_copy(update={"ingest_chunk_rows": 3})
    with TestClient(create_app(settings)) as client:
        fresh_principal(client)
        client.put("/v1/firms/shop-1", json=firm_body())
        yield client


def march(day: int, hour: int = 12) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00+08:00"


ROWS = [
    txn("s1", occurred_at=march(1), amount="100.00", buyer_ref="alice"),
    txn("s2", occurred_at=march(1), amount="50.00", buyer_ref="bob"),
    txn("s3", occurred_at=march(5), amount="300.00", buyer_ref="alice"),
    txn("s4", occurred_at=march(9), amount="50.00", buyer_ref=None),
    txn("r1", type="refund", occurred_at=march(10), amount="20.00", refund_of="s1"),
    txn("c1", type="chargeback", occurred_at=march(11), amount="10.00"),
    txn("p1", type="payout", occurred_at=march(15), amount="400.00"),
    txn("f1", type="fee", occurred_at=march(15), amount="4.50"),
    # Same month in USD: kept apart, never added to CNY.
    txn("u1", occurred_at=march(2), amount="9.99", currency="USD", buyer_ref="alice"),
    # 23:30 on 31 March in Shanghai is still March; 16:30Z on 31 March is April 1 00:30 there.
    txn("s5", occurred_at="2026-03-31T23:30:00+08:00", amount="25.00", buyer_ref="carol"),
    txn("s6", occurred_at="2026-03-31T16:30:00Z", amount="70.00", buyer_ref="carol"),
    # JPY has no minor unit.
    txn("y1", occurred_at=march(3), amount="1200", currency="JPY", buyer_ref="dan"),
]


def test_every_metric_of_a_month(credit: TestClient) -> None:
    report = credit.post("/v1/firms/shop-1/transactions", json=ROWS).json()
    assert report["inserted"] == len(ROWS), report
    months = {
        (m["month"], m["currency"]): m
        for m in credit.get("/v1/firms/shop-1/metrics").json()["months"]
    }
    assert set(months) == {
        ("2026-03", "CNY"),
        ("2026-03", "USD"),
        ("2026-03", "JPY"),
        ("2026-04", "CNY"),
    }
    cny = months[("2026-03", "CNY")]
    assert Decimal(cny["sales"]) == Decimal("525.00")  # 100 + 50 + 300 + 50 + 25
    assert Decimal(cny["refunds"]) == Decimal("20.00")
    assert Decimal(cny["chargebacks"]) == Decimal("10.00")
    assert Decimal(cny["net_sales"]) == Decimal("495.00")
    assert Decimal(cny["payouts"]) == Decimal("400.00")
    assert Decimal(cny["fees"]) == Decimal("4.50")
    assert cny["orders"] == 5
    assert Decimal(cny["average_order_value"]) == Decimal("105.00")
    assert cny["distinct_buyers"] == 3  # alice, bob, carol (s4 has no buyer)
    assert cny["repeat_buyers"] == 1  # alice twice
    assert cny["top_buyer_share"] == pytest.approx(400 / 525, abs=1e-4)
    assert cny["active_days"] == 4  # 1, 5, 9, 31
    april = months[("2026-04", "CNY")]
    assert (april["orders"], Decimal(april["sales"])) == (1, Decimal("70.00"))
    assert april["distinct_buyers"] == 1 and april["repeat_buyers"] == 0
    usd = months[("2026-03", "USD")]
    assert Decimal(usd["sales"]) == Decimal("9.99") and usd["distinct_buyers"] == 1
    assert Decimal(months[("2026-03", "JPY")]["sales"]) == Decimal("1200")


def test_incremental_metrics_equal_a_recompute_from_raw_rows(credit: TestClient) -> None:
    # Uploaded in three requests, out of order, with repeats: the result must not care.
    credit.post("/v1/firms/shop-1/transactions", json=ROWS[6:])
    credit.post("/v1/firms/shop-1/transactions", json=ROWS[:4])
    credit.post("/v1/firms/shop-1/transactions", json=ROWS)
    engine = credit.app.state.engine  # type: ignore[attr-defined]
    assert disagreements(engine, 1) == []


def test_as_of_only_sees_complete_past_months(credit: TestClient) -> None:
    credit.post("/v1/firms/shop-1/transactions", json=ROWS)
    before_april = credit.get("/v1/firms/shop-1/metrics", params={"as_of": "2026-04-01"}).json()
    assert {m["month"] for m in before_april["months"]} == {"2026-03"}
    mid_april = credit.get("/v1/firms/shop-1/metrics", params={"as_of": "2026-04-20"}).json()
    assert {m["month"] for m in mid_april["months"]} == {"2026-03"}  # April is not complete
    in_may = credit.get("/v1/firms/shop-1/metrics", params={"as_of": "2026-05-01"}).json()
    assert {m["month"] for m in in_may["months"]} == {"2026-03", "2026-04"}
    early = credit.get("/v1/firms/shop-1/metrics", params={"as_of": "2026-03-31"}).json()
    assert early["months"] == []
    bad = credit.get("/v1/firms/shop-1/metrics", params={"as_of": "March"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "zone", ["Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kathmandu", "UTC"]
)
def test_fast_calendar_agrees_with_zoneinfo(zone: str) -> None:
    from datetime import UTC, datetime, timedelta

    cal = LocalCalendar(zone)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    # Every 37 minutes over a year crosses every DST change and month end.
    for k in range(0, 365 * 24 * 60, 37):
        ts = start + timedelta(minutes=k, microseconds=k % 1000)
        for shown in (ts, ts.astimezone(LocalCalendar("Asia/Kolkata").zone)):
            utc_text, month, day = cal.place(shown)
            assert (month, day) == local_month_day(ts, zone)
            assert utc_text == ts.replace(tzinfo=None).isoformat(" ", "microseconds")


@pytest.mark.parametrize(
    "zone",
    ["Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kathmandu", "Australia/Lord_Howe"],
)
def test_placing_by_the_text_agrees_with_zoneinfo(zone: str) -> None:
    from datetime import UTC, datetime, timedelta

    cal = LocalCalendar(zone)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    shown_in = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]
    shown_in += [timezone(timedelta(hours=5, minutes=30)), LocalCalendar(zone).zone]
    # Every 37 minutes and 11 seconds over a year: every DST change, month end and odd offset.
    for k in range(0, 365 * 24 * 3600, 37 * 60 + 11):
        ts = start + timedelta(seconds=k)
        for tz in shown_in:
            text = ts.astimezone(tz).isoformat()
            if tz is UTC and k % 2:
                text = text.replace("+00:00", "Z")
            for candidate in (text, text.replace("T", "t")):
                utc_text, month, day = cal.place_text(candidate, datetime.fromisoformat(candidate))
                assert (month, day) == local_month_day(ts, zone), candidate
                assert utc_text == ts.replace(tzinfo=None).isoformat(" ", "microseconds")
    # A fraction of a second, or an offset with seconds, is placed the general way.
    odd = "2025-06-01T12:00:00.250+08:00"
    assert cal.place_text(odd, datetime.fromisoformat(odd)) == cal.place(
        datetime.fromisoformat(odd)
    )


def test_timestamps_in_a_known_hour_are_still_checked_one_by_one() -> None:
    from datetime import UTC, datetime, timedelta

    from services.credit.ingest.rows import RawTxn, RowCleaner, RowError

    now = datetime(2026, 3, 1, 12, 0, 0, 400_000, tzinfo=UTC)
    cleaner = RowCleaner("p", b"k", now, timedelta(seconds=300))
    cal = LocalCalendar("Asia/Shanghai")

    def clean(occurred_at: str) -> tuple[str, str, int]:
        row = {"txn_id": "t", "type": "sale", "amount": "1.00", "currency": "CNY"}
        stored = cleaner.clean(RawTxn.from_mapping(row | {"occurred_at": occurred_at}), 1, cal)
        return stored[4], stored[5], stored[6]

    assert clean("2026-03-01T12:01:00Z") == ("2026-03-01 12:01:00.000000", "2026-03", 1)
    # The hour is known now; each instant in it is still placed and checked on its own.
    assert clean("2026-03-01T20:05:00+08:00") == ("2026-03-01 12:05:00.000000", "2026-03", 1)
    assert clean("2026-03-01T12:05:00Z") == ("2026-03-01 12:05:00.000000", "2026-03", 1)
    for late in ("2026-03-01T12:05:01Z", "2026-03-01T20:59:59+08:00"):
        with pytest.raises(RowError, match="future"):
            clean(late)
    for broken in ("2026-03-01T12:61:00Z", "2026-03-01T12:0a:00Z", "2026-03-01T12:01:60Z"):
        with pytest.raises(RowError):
            clean(broken)
    assert clean("2026-03-01T12:01:00+08:30") == ("2026-03-01 03:31:00.000000", "2026-03", 1)
    assert clean("2026-03-01T07:30:00+08:00") == ("2026-02-28 23:30:00.000000", "2026-03", 1)
    assert clean("2026-02-28T16:30:00Z") == ("2026-02-28 16:30:00.000000", "2026-03", 1)
