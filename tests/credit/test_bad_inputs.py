"""A table-driven corpus of bad input: whole requests refused with a 4xx problem, bad rows
rejected one by one with their line, field and reason while the good rows go in."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.credit.app import create_app
from services.credit.config import CreditSettings
from tests.credit.conftest import firm_body, txn
from tests.credit.test_ingest_api import fresh_principal

NDJSON = {"content-type": "application/x-ndjson"}
FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()


def line(**over: Any) -> bytes:
    """One NDJSON line of a good bulk row for firm shop-1, with fields replaced or removed."""
    row: dict[str, Any] = txn("x", firm_ref="shop-1")
    for k, v in over.items():
        if v is ...:
            row.pop(k)
        else:
            row[k] = v
    return orjson.dumps(row)


# (case, the bad line, the field named, a fragment of the reason)
BAD_ROWS: list[tuple[str, bytes, str, str]] = [
    ("malformed-json", b'{"txn_id": "x", "type": ', "", "not valid JSON"),
    ("not-an-object", b'["x", "sale"]', "", "must be a JSON object"),
    ("missing-txn-id", line(txn_id=...), "txn_id", "is required"),
    ("txn-id-object", line(txn_id={"a": 1}), "txn_id", "must be a string"),
    ("txn-id-too-long", line(txn_id="x" * 129), "txn_id", "longer than 128"),
    ("unknown-type", line(type="gift"), "type", "must be one of"),
    ("amount-negative", line(amount="-5.00"), "amount", "greater than zero"),
    ("amount-zero", line(amount="0.00"), "amount", "greater than zero"),
    ("amount-number-zero", line(amount=0), "amount", "greater than zero"),
    ("amount-nan", line(amount="NaN"), "amount", "finite"),
    ("amount-infinity", line(amount="Infinity"), "amount", "finite"),
    ("amount-over-precise", line(amount="10.001"), "amount", "at most 2 decimals"),
    ("amount-jpy-decimals", line(amount="100.5", currency="JPY"), "amount", "at most 0"),
    ("amount-float-over-precise", line(amount=0.125), "amount", "at most 2 decimals"),
    ("amount-text", line(amount="ten"), "amount", "not a decimal number"),
    ("amount-missing", line(amount=...), "amount", "is required"),
    ("amount-bool", line(amount=True), "amount", "is required"),
    ("amount-too-large", line(amount="1000000000000"), "amount", "less than"),
    ("amount-list", line(amount=[1]), "amount", "must be a decimal number"),
    ("currency-unknown", line(currency="ABC"), "currency", "ISO 4217"),
    ("currency-lower-case", line(currency="cny"), "currency", "ISO 4217"),
    ("currency-missing", line(currency=...), "currency", "ISO 4217"),
    ("time-no-offset", line(occurred_at="2026-03-15T10:00:00"), "occurred_at", "offset"),
    ("time-date-only", line(occurred_at="2026-03-15"), "occurred_at", "RFC 3339"),
    ("time-garbage", line(occurred_at="yesterday at noon!!!"), "occurred_at", "RFC 3339"),
    ("time-impossible", line(occurred_at="2026-02-30T10:00:00+08:00"), "occurred_at", "RFC 3339"),
    ("time-future", line(occurred_at=FUTURE), "occurred_at", "in the future"),
    ("time-before-1990", line(occurred_at="1985-01-01T00:00:00Z"), "occurred_at", "before 1990"),
    ("time-number", line(occurred_at=1700000000), "occurred_at", "RFC 3339"),
    ("unknown-firm", line(firm_ref="nobody"), "firm_ref", "not a firm of this platform"),
    ("missing-firm", line(firm_ref=...), "firm_ref", "is required"),
    ("control-chars", line(order_ref="o\x07rder"), "order_ref", "control characters"),
    ("channel-too-long", line(channel="c" * 33), "channel", "longer than 32"),
    ("buyer-object", line(buyer_ref={"id": 1}), "buyer_ref", "must be a string"),
    ("conflicting-duplicate", line(txn_id="{case}-a", amount="999.00"), "txn_id", "different"),
    ("line-too-long", line(category="c" * 70_000), "", "longer than"),
]


@pytest.fixture
def credit(credit_settings: CreditSettings) -> Iterator[TestClient]:
    """Small limits so that the over-size cases stay small; one firm, shop-1."""
    settings = credit_settings.model_copy(
        update={"max_body_bytes": 200_000, "max_bulk_bytes": 400_000, "max_json_rows": 50}
    )
    with TestClient(create_app(settings)) as client:
        fresh_principal(client)
        client.put("/v1/firms/shop-1", json=firm_body())
        yield client


def test_corpus_is_big_enough() -> None:
    assert len(BAD_ROWS) + len(BAD_REQUESTS) >= 30


def test_every_bad_row_is_rejected_alone(credit: TestClient) -> None:
    body = b""
    for i, (case, bad, _field, _reason) in enumerate(BAD_ROWS):
        good_a = line(txn_id=f"{case}-a", order_ref=f"o{i}")
        good_b = line(txn_id=f"{case}-b", order_ref=f"o{i}")
        body += good_a + b"\n" + bad.replace(b"{case}", case.encode()) + b"\n" + good_b + b"\n"
    r = credit.post("/v1/transactions/bulk", content=body, headers=NDJSON)
    assert r.status_code == 200, r.text
    report = r.json()
    n = len(BAD_ROWS)
    assert report["received"] == 3 * n
    assert (report["inserted"], report["duplicates"], report["rejected"]) == (2 * n, 0, n)
    by_line = {rej["line"]: rej for rej in report["rejections"]}
    for i, (case, _bad, field, reason) in enumerate(BAD_ROWS):
        rej = by_line.get(3 * i + 2)
        assert rej is not None, case
        assert rej["field"] == field, (case, rej)
        assert reason in rej["reason"], (case, rej)


def test_bad_rows_in_a_json_array(credit: TestClient) -> None:
    rows = [
        txn("j1"),
        "not an object",
        txn("j2", amount="1e400"),
        txn("j3", firm_ref="other-shop"),
        txn("j4", occurred_at="2026-03-15 10:00:00"),
        txn("j5"),
    ]
    report = credit.post("/v1/firms/shop-1/transactions", json=rows).json()
    assert (report["received"], report["inserted"], report["rejected"]) == (6, 2, 4)
    assert [(r["line"], r["field"]) for r in report["rejections"]] == [
        (2, ""),
        (3, "amount"),
        (4, "firm_ref"),
        (5, "occurred_at"),
    ]


def test_bad_csv_rows(credit: TestClient) -> None:
    body = (
        b"firm_ref,txn_id,type,occurred_at,amount,currency\n"
        b"shop-1,c1,sale,2026-03-01T09:00:00+08:00,10.50,CNY\n"
        b"shop-1,c2,sale,2026-03-01T09:00:00+08:00\n"
        b"shop-1,c3,sale,2026-03-01T09:00:00+08:00,\xff\xfe,CNY\n"
        b'shop-1,"c4,sale,2026-03-01T09:00:00+08:00,1,CNY\n'
        b"shop-1,c5,sale,2026-03-01T09:00:00+08:00,1.5,CNY\n"
    )
    r = credit.post("/v1/transactions/bulk", content=body, headers={"content-type": "text/csv"})
    report = r.json()
    assert (report["received"], report["inserted"], report["rejected"]) == (5, 2, 3), report[
        "rejections"
    ]
    assert [x["line"] for x in report["rejections"]] == [3, 4, 5]
    assert "fields" in report["rejections"][0]["reason"]
    assert "UTF-8" in report["rejections"][1]["reason"]


def _big_json(n: int) -> bytes:
    return orjson.dumps([txn(f"b{i}") for i in range(n)])


# (case, method path, body, headers, status, pointer of the first error)
BAD_REQUESTS: list[tuple[str, str, bytes, dict[str, str], int, str]] = [
    (
        "json-wrong-type",
        "/v1/firms/shop-1/transactions",
        b"[]",
        {"content-type": "text/plain"},
        415,
        "/content-type",
    ),
    (
        "json-unparseable",
        "/v1/firms/shop-1/transactions",
        b"[{",
        {"content-type": "application/json"},
        400,
        "/",
    ),
    (
        "json-not-array",
        "/v1/firms/shop-1/transactions",
        b'{"a":1}',
        {"content-type": "application/json"},
        400,
        "/",
    ),
    (
        "json-empty",
        "/v1/firms/shop-1/transactions",
        b"",
        {"content-type": "application/json"},
        400,
        "/",
    ),
    (
        "json-too-many-rows",
        "/v1/firms/shop-1/transactions",
        orjson.dumps([{}] * 51),
        {"content-type": "application/json"},
        413,
        "/",
    ),
    (
        "json-too-big",
        "/v1/firms/shop-1/transactions",
        _big_json(2_000),
        {"content-type": "application/json"},
        413,
        "/content-length",
    ),
    (
        "json-unknown-firm",
        "/v1/firms/nobody/transactions",
        b"[]",
        {"content-type": "application/json"},
        404,
        "",
    ),
    (
        "json-bad-firm-ref",
        "/v1/firms/bad%20ref!/transactions",
        b"[]",
        {"content-type": "application/json"},
        422,
        "/firm_ref",
    ),
    (
        "bulk-wrong-type",
        "/v1/transactions/bulk",
        b"{}",
        {"content-type": "application/json"},
        415,
        "/content-type",
    ),
    ("bulk-no-type", "/v1/transactions/bulk", b"{}", {}, 415, "/content-type"),
    (
        "bulk-brotli",
        "/v1/transactions/bulk",
        b"{}",
        NDJSON | {"content-encoding": "br"},
        415,
        "/content-encoding",
    ),
    ("bulk-bad-gzip", "/v1/transactions/bulk", b"\x1f\x8bnot gzip at all", NDJSON, 400, "/"),
    (
        "bulk-truncated-gzip",
        "/v1/transactions/bulk",
        gzip.compress(line() + b"\n")[:-8],
        NDJSON,
        400,
        "/",
    ),
    (
        "bulk-csv-unknown-column",
        "/v1/transactions/bulk",
        b"firm_ref,txn,amount\n",
        {"content-type": "text/csv"},
        400,
        "/",
    ),
    (
        "bulk-csv-repeated-column",
        "/v1/transactions/bulk",
        b"firm_ref,firm_ref\n",
        {"content-type": "text/csv"},
        400,
        "/",
    ),
    ("bulk-too-big", "/v1/transactions/bulk", b"\n" * 400_001, NDJSON, 413, "/content-length"),
]


@pytest.mark.parametrize(("case", "path", "body", "headers", "status", "pointer"), BAD_REQUESTS)
def test_bad_request_stores_nothing(
    credit: TestClient,
    case: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    pointer: str,
) -> None:
    r = credit.post(path, content=body, headers=headers)
    assert r.status_code == status, (case, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == status and problem["detail"]
    if pointer:
        assert problem["errors"][0]["pointer"] == pointer, problem
    metrics = credit.get("/v1/firms/shop-1/metrics").json()
    assert metrics["months"] == []


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=2),
    st.sampled_from(["sale", "refund", "CNY", "JPY", "2026-03-15T10:00:00+08:00", "12.30"]),
)
_rows = st.dictionaries(
    st.sampled_from(
        ["txn_id", "type", "occurred_at", "amount", "currency", "buyer_ref", "channel", "firm_ref"]
    ),
    _values,
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(_rows, max_size=20))
def test_random_rows_never_500_and_every_row_is_accounted(
    credit: TestClient, rows: list[dict[str, Any]]
) -> None:
    r = credit.post("/v1/firms/shop-1/transactions", json=rows)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["received"] == len(rows)
    assert report["inserted"] + report["duplicates"] + report["rejected"] == len(rows)


@given(
    st.from_regex("[+-]?[0-9\uff10-\uff19]{0,14}(\\.[0-9]{0,4})?(e[0-9])?", fullmatch=True),
    st.sampled_from([0, 2, 3]),
)
def test_fast_amount_parsing_agrees_with_decimal(text: str, decimals: int) -> None:
    from services.credit.ingest.rows import RowError, _parse_amount_slow, parse_amount

    def outcome(parse: Callable[[str, int, str], int]) -> int | str:
        try:
            return parse(text, decimals, "XXX")
        except RowError:
            return "error"

    assert outcome(parse_amount) == outcome(_parse_amount_slow)
