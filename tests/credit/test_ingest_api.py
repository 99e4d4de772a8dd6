"""Transaction ingest over HTTP: both ways in, duplicates, conflicts, reports, time zones."""

from __future__ import annotations

import gzip
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from services.credit.app import create_app
from services.credit.config import CreditSettings
from services.credit.ingest.recompute import disagreements
from shared.internal_auth import PRINCIPAL_HEADER
from tests.conftest import principal_headers
from tests.credit.conftest import firm_body, txn

NDJSON = {"content-type": "application/x-ndjson"}


def fresh_principal(client: TestClient, org_id: str = "org_p1") -> None:
    """Sign the principal per request: the first app start may train a model for over a minute."""

    def sign(request: httpx.Request) -> None:
        if PRINCIPAL_HEADER not in request.headers:
            request.headers.update(principal_headers(org_id))

    client.headers.pop(PRINCIPAL_HEADER, None)
    client.event_hooks = {"request": [sign], "response": []}


@pytest.fixture
def credit(credit_settings: CreditSettings) -> Iterator[TestClient]:
    """The credit app, acting as platform org_p1 with a freshly signed principal per request."""
    with TestClient(create_app(credit_settings)) as client:
        fresh_principal(client)
        yield client


def ndjson(rows: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def test_json_array_report_accounts_for_every_row(credit: TestClient) -> None:
    credit.put("/v1/firms/shop-1", json=firm_body())
    rows = [txn(f"t{i}") for i in range(5)] + [txn("bad", amount="-1")]
    r = credit.post("/v1/firms/shop-1/transactions", json=rows)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["received"] == 6
    assert (report["inserted"], report["duplicates"], report["rejected"]) == (5, 0, 1)
    assert report["rejections"] == [
        {
            "line": 6,
            "field": "amount",
            "reason": "must be greater than zero (the type says the direction)",
            "txn_id": "bad",
        }
    ]


def test_same_content_is_duplicate_other_content_is_conflict(credit: TestClient) -> None:
    credit.put("/v1/firms/shop-1", json=firm_body())
    assert credit.post("/v1/firms/shop-1/transactions", json=[txn("t1")]).json()["inserted"] == 1
    again = credit.post(
        "/v1/firms/shop-1/transactions", json=[txn("t1"), txn("t1", amount="100.01"), txn("t2")]
    ).json()
    assert (again["inserted"], again["duplicates"], again["rejected"]) == (1, 1, 1)
    assert again["rejections"][0]["line"] == 2
    assert again["rejections"][0]["field"] == "txn_id"
    assert "different amount_minor" in again["rejections"][0]["reason"]
    months = credit.get("/v1/firms/shop-1/metrics").json()["months"]
    assert months[0]["orders"] == 2  # t1 counted once, t2 once: nothing twice


def test_repeat_inside_one_upload_is_settled_before_the_database(credit: TestClient) -> None:
    credit.put("/v1/firms/shop-1", json=firm_body())
    rows = [txn("t1"), txn("t1"), txn("t1", buyer_ref="someone-else")]
    report = credit.post("/v1/firms/shop-1/transactions", json=rows).json()
    assert (report["inserted"], report["duplicates"], report["rejected"]) == (1, 1, 1)
    assert "buyer_ref" in report["rejections"][0]["reason"]


def test_bulk_ndjson_csv_and_gzip(credit: TestClient) -> None:
    credit.put("/v1/firms/a", json=firm_body())
    credit.put("/v1/firms/b", json=firm_body())
    rows = [txn(f"n{i}", firm_ref="a" if i % 2 else "b") for i in range(10)]
    r = credit.post("/v1/transactions/bulk", content=ndjson(rows), headers=NDJSON)
    assert r.json()["inserted"] == 10, r.text
    csv_body = (
        b"firm_ref,txn_id,type,occurred_at,amount,currency,order_ref,buyer_ref\n"
        b"a,c1,sale,2026-03-01T09:00:00+08:00,10.50,CNY,o1,b1\n"
        b"b,c2,refund,2026-03-02T09:00:00Z,5,CNY,o1,\n"
    )
    r = credit.post("/v1/transactions/bulk", content=csv_body, headers={"content-type": "text/csv"})
    assert r.json()["inserted"] == 2, r.text
    gz = gzip.compress(ndjson([txn("g1", firm_ref="a")]))
    r = credit.post(
        "/v1/transactions/bulk", content=gz, headers=NDJSON | {"content-encoding": "gzip"}
    )
    assert r.json()["inserted"] == 1, r.text
    # Sniffed even without the header: a gzip body starts with its magic number.
    r = credit.post(
        "/v1/transactions/bulk",
        content=gzip.compress(ndjson([txn("g2", firm_ref="b")])),
        headers=NDJSON,
    )
    assert r.json()["inserted"] == 1, r.text


def test_buyer_ref_is_never_stored_raw(credit: TestClient, credit_settings: CreditSettings) -> None:
    credit.put("/v1/firms/shop-1", json=firm_body())
    credit.post("/v1/firms/shop-1/transactions", json=[txn("t1", buyer_ref="alice@example.com")])
    from sqlalchemy import text

    from shared.db import make_engine

    engine = make_engine(credit_settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT buyer_hash FROM sales_transaction")).scalar_one()
        dump = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM sales_transaction")) for v in row
        )
    engine.dispose()
    assert stored and "alice" not in dump and len(stored) == 32


def test_months_cut_in_platform_time_zone(credit: TestClient) -> None:
    # 2026-03-31T20:00Z is April 1st in Shanghai (the default) but still March in New York.
    assert credit.get("/v1/platform-settings").json() == {
        "timezone": "Asia/Shanghai",
        "is_default": True,
    }
    credit.put("/v1/firms/sh", json=firm_body())
    r = credit.put("/v1/platform-settings", json={"timezone": "America/New_York"})
    assert r.status_code == 200 and r.json()["is_default"] is False
    credit.put("/v1/firms/ny", json=firm_body())
    assert credit.get("/v1/firms/ny").json()["timezone"] == "America/New_York"
    assert credit.get("/v1/firms/sh").json()["timezone"] == "Asia/Shanghai"
    when = "2026-03-31T20:00:00Z"
    for ref in ("sh", "ny"):
        credit.post(f"/v1/firms/{ref}/transactions", json=[txn(f"{ref}-1", occurred_at=when)])
    assert credit.get("/v1/firms/sh/metrics").json()["months"][0]["month"] == "2026-04"
    assert credit.get("/v1/firms/ny/metrics").json()["months"][0]["month"] == "2026-03"
    # Months already cut cannot be re-cut by changing the zone.
    r = credit.put("/v1/firms/ny", json=firm_body(timezone="Asia/Shanghai"))
    assert r.status_code == 409
    r = credit.put("/v1/platform-settings", json={"timezone": "Mars/Olympus"})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/timezone"


def test_other_platform_cannot_write_to_a_firm(credit: TestClient) -> None:
    credit.put("/v1/firms/shop-1", json=firm_body())
    r = credit.post(
        "/v1/firms/shop-1/transactions", json=[txn("t1")], headers=principal_headers("org_p2")
    )
    assert r.status_code == 404
    body = ndjson([txn("t1", firm_ref="shop-1")])
    r = credit.post(
        "/v1/transactions/bulk", content=body, headers=NDJSON | principal_headers("org_p2")
    )
    assert r.json()["rejected"] == 1 and r.json()["rejections"][0]["field"] == "firm_ref"


def test_chunks_commit_metrics_in_step(credit_settings: CreditSettings) -> None:
    settings = credit_settings.model_copy(update={"ingest_chunk_rows": 7})
    with TestClient(create_app(settings)) as client:
        fresh_principal(client)
        client.put("/v1/firms/a", json=firm_body())
        rows = [
            txn(
                f"r{i}",
                firm_ref="a",
                type=["sale", "sale", "refund", "payout", "fee", "chargeback"][i % 6],
                buyer_ref=f"b{i % 5}",
                occurred_at=f"2026-0{1 + i % 3}-{1 + i % 28:02d}T23:30:00+08:00",
                currency="CNY" if i % 4 else "USD",
            )
            for i in range(60)
        ]
        first = client.post("/v1/transactions/bulk", content=ndjson(rows[:40]), headers=NDJSON)
        again = client.post("/v1/transactions/bulk", content=ndjson(rows), headers=NDJSON)
        assert first.json()["inserted"] == 40
        assert (again.json()["inserted"], again.json()["duplicates"]) == (20, 40)
        engine = client.app.state.engine  # type: ignore[attr-defined]
        firm_id = 1
        assert disagreements(engine, firm_id) == []


def test_documented_example_files_load_cleanly(credit: TestClient) -> None:
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    for ref in ("shop-1042", "shop-2077"):
        credit.put(f"/v1/firms/{ref}", json=firm_body())
    for name, media in (
        ("transactions.ndjson", NDJSON),
        ("transactions.csv", {"content-type": "text/csv"}),
    ):
        body = (examples / name).read_bytes()
        report = credit.post("/v1/transactions/bulk", content=body, headers=media).json()
        assert report["rejected"] == 0, report
        assert (
            report["inserted"]
            == report["received"]
            == len(body.strip().splitlines()) - (name.endswith(".csv"))
        )
    months = credit.get("/v1/firms/shop-1042/metrics").json()["months"]
    # 16:30Z on 31 October is 1 November 00:30 in Shanghai: that sale counts in November.
    assert [(m["month"], m["orders"]) for m in months] == [("2026-10", 4), ("2026-11", 1)]


def test_a_dead_validation_process_is_a_503_and_the_next_upload_recovers(
    credit: TestClient,
) -> None:
    from services.credit.ingest import pool as pool_mod

    credit.put("/v1/firms/a", json=firm_body())
    first = [txn(f"p{i}", firm_ref="a") for i in range(5)]
    assert (
        credit.post("/v1/transactions/bulk", content=ndjson(first), headers=NDJSON).json()[
            "inserted"
        ]
        == 5
    )
    running = pool_mod.pool(1)
    assert running is not None
    for proc in list(running._processes.values()):
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
    rows = first + [txn(f"q{i}", firm_ref="a") for i in range(5)]
    r = credit.post("/v1/transactions/bulk", content=ndjson(rows), headers=NDJSON)
    assert r.status_code == 503, r.text
    report = credit.post("/v1/transactions/bulk", content=ndjson(rows), headers=NDJSON).json()
    assert (report["inserted"], report["duplicates"]) == (5, 5)


def test_csv_in_blocks_keeps_line_numbers(credit_settings: CreditSettings) -> None:
    settings = credit_settings.model_copy(update={"ingest_chunk_rows": 4})
    with TestClient(create_app(settings)) as client:
        fresh_principal(client)
        client.put("/v1/firms/a", json=firm_body())
        lines = [b"", b"firm_ref,txn_id,type,occurred_at,amount,currency,buyer_ref"]
        for i in range(13):
            amount = "-1" if i in (4, 9) else f"{i + 1}.25"
            lines.append(
                f"a,c{i},sale,2026-03-0{1 + i % 9}T09:00:00+08:00,{amount},CNY,b{i % 3}".encode()
            )
        body = b"\n".join(lines) + b"\n"
        # Sent in small pieces, the header in two: blocks are cut by line, not by piece.
        pieces = [body[i : i + 23] for i in range(0, len(body), 23)]
        r = client.post(
            "/v1/transactions/bulk", content=iter(pieces), headers={"content-type": "text/csv"}
        )
        report = r.json()
        assert (report["received"], report["inserted"], report["rejected"]) == (13, 11, 2)
        # Line 1 is blank, line 2 the header: row i is on line i + 3.
        assert [(x["line"], x["field"]) for x in report["rejections"]] == [
            (7, "amount"),
            (12, "amount"),
        ]
        months = client.get("/v1/firms/a/metrics").json()["months"]
        assert months[0]["distinct_buyers"] == 3 and months[0]["orders"] == 11
        assert disagreements(client.app.state.engine, 1) == []  # type: ignore[attr-defined]
