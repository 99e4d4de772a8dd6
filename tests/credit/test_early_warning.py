"""Early warning: the rules on their own, and the whole path through ingest and the routes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from services.credit.early_warning_rules import (
    DEFAULT_RULES,
    MonthFigures,
    evaluate,
    merged_rules,
)
from shared.db import utcnow
from tests.conftest import principal_headers
from tests.credit.conftest import firm_body, txn

TODAY = date(2026, 6, 20)


def months(
    sales: list[int],
    refunds: list[int] | None = None,
    cb: list[int] | None = None,
    last_day: date | None = TODAY,
) -> list[MonthFigures]:
    """Seven months ending in June 2026 (the last with a sale on last_day)."""
    refunds = refunds or [0] * len(sales)
    cb = cb or [0] * len(sales)
    out = []
    for i, (s, r, c) in enumerate(zip(sales, refunds, cb, strict=True)):
        month = f"2026-{i:02d}" if i else "2025-12"
        day = last_day if i == len(sales) - 1 else date(2026, 1, 1)
        out.append(MonthFigures(month, s, r, c, day if s else None))
    return out


def test_sales_drop_fires_above_the_threshold_only() -> None:
    rules = merged_rules({})
    hit = evaluate(months([100, 100, 100, 100, 60, 60, 60]), rules, TODAY)
    assert hit["sales_drop"]["drop_fraction"] == 0.4
    assert hit["sales_drop"]["net_sales_last_3m_minor"] == 180
    assert "sales_drop" not in evaluate(months([100, 100, 100, 100, 80, 80, 80]), rules, TODAY)


def test_an_org_threshold_overrides_the_default_and_a_rule_can_be_off() -> None:
    data = months([100, 100, 100, 100, 80, 80, 80])
    assert "sales_drop" in evaluate(
        data, merged_rules({"sales_drop": {"drop_fraction": 0.1}}), TODAY
    )
    off = merged_rules({"sales_drop": {"enabled": False, "drop_fraction": 0.1}})
    assert "sales_drop" not in evaluate(data, off, TODAY)
    assert merged_rules({})["no_sales"] == DEFAULT_RULES["no_sales"]


def test_refund_rate_doubling() -> None:
    rules = merged_rules({})
    hit = evaluate(months([100] * 7, [0, 2, 2, 2, 5, 5, 5]), rules, TODAY)
    assert hit["refund_rate_jump"]["refund_rate_last_3m"] == 0.05
    assert "refund_rate_jump" not in evaluate(
        months([100] * 7, [0, 2, 2, 2, 3, 3, 3]), rules, TODAY
    )


def test_no_sales_for_thirty_days() -> None:
    rules = merged_rules({})
    quiet = months([100] * 7, last_day=TODAY - timedelta(days=31))
    assert evaluate(quiet, rules, TODAY)["no_sales"]["days_without_sales"] == 31
    assert "no_sales" not in evaluate(
        months([100] * 7, last_day=TODAY - timedelta(days=5)), rules, TODAY
    )


def test_chargeback_spike() -> None:
    rules = merged_rules({})
    hit = evaluate(months([100] * 7, cb=[0, 0, 0, 1, 1, 1, 6]), rules, TODAY)
    assert hit["chargeback_spike"]["chargebacks_latest_month"] == 6
    assert "chargeback_spike" not in evaluate(
        months([100] * 7, cb=[0, 0, 0, 1, 1, 1, 2]), rules, TODAY
    )


def _month_start(back: int) -> date:
    today = utcnow().date()
    idx = today.year * 12 + today.month - 1 - back
    return date(idx // 12, idx % 12 + 1, 10)


def _upload(credit: TestClient, rows: list[dict[str, Any]]) -> None:
    resp = credit.post("/v1/firms/shop-1/transactions", json=rows)
    assert resp.status_code == 200, resp.text
    assert resp.json()["inserted"] == len(rows)


def _sales(
    prefix: str, back: int, n: int, amount: str, day: date | None = None
) -> list[dict[str, Any]]:
    on = day or _month_start(back)
    return [
        txn(
            f"{prefix}-{back}-{i}",
            occurred_at=f"{on.isoformat()}T10:00:00+08:00",
            amount=amount,
            order_ref=f"o-{prefix}-{back}-{i}",
        )
        for i in range(n)
    ]


def _refunds(back: int, n: int, amount: str) -> list[dict[str, Any]]:
    on = _month_start(back) + timedelta(days=5)
    return [
        txn(
            f"rf-{back}-{i}",
            type="refund",
            occurred_at=f"{on.isoformat()}T10:00:00+08:00",
            amount=amount,
            order_ref=f"o-hi-{back}-{i}",
        )
        for i in range(n)
    ]


def test_a_sharp_drop_reaches_every_exposed_org_once(credit: TestClient) -> None:
    assert credit.put("/v1/firms/shop-1", json=firm_body()).status_code in (200, 201)
    # Six complete months of steady sales and a sale yesterday: a healthy firm.
    for back in range(1, 7):
        _upload(credit, _sales("hi", back, 4, "500.00"))
    _upload(credit, _sales("now", 0, 1, "500.00", day=utcnow().date() - timedelta(days=1)))
    service = principal_headers("matching", "service")
    lender = principal_headers("org_l1", "lender")
    guarantor = principal_headers("org_g1", "guarantor")
    resp = credit.put(
        "/v1/monitored-firms/org_p1/shop-1",
        json={"org_ids": ["org_l1", "org_g1"]},
        headers=service,
    )
    assert resp.status_code == 200, resp.text
    assert credit.get("/v1/early-warnings", headers=lender).json()["items"] == []
    # The guarantor switches the refund rule off for itself; the lender keeps the defaults.
    resp = credit.put(
        "/v1/early-warning-rules", json={"refund_rate_jump": {"enabled": False}}, headers=guarantor
    )
    assert resp.status_code == 200 and resp.json()["refund_rate_jump"]["enabled"] is False
    # Most of the last three months' sales come back as refunds: net sales collapse.
    _upload(credit, [r for back in (1, 2, 3) for r in _refunds(back, 3, "500.00")])
    items = credit.get("/v1/early-warnings", headers=lender).json()["items"]
    assert sorted(w["rule"] for w in items) == ["refund_rate_jump", "sales_drop"]
    drop = next(w for w in items if w["rule"] == "sales_drop")
    assert drop["firm_ref"] == "shop-1" and drop["platform_org_id"] == "org_p1"
    assert drop["evidence"]["net_sales_prior_3m_minor"] == 3 * 4 * 50000
    assert drop["evidence"]["net_sales_last_3m_minor"] == 3 * 1 * 50000
    assert drop["evidence"]["drop_fraction"] == 0.75
    assert [
        w["rule"] for w in credit.get("/v1/early-warnings", headers=guarantor).json()["items"]
    ] == ["sales_drop"]
    # Another ingest in the same month does not ring twice.
    _upload(credit, _sales("again", 0, 1, "1.00", day=utcnow().date()))
    assert len(credit.get("/v1/early-warnings", headers=lender).json()["items"]) == 2
    # A stranger sees nothing; a platform may not ask; only a service sets the monitored set.
    other = principal_headers("org_l2", "lender")
    assert credit.get("/v1/early-warnings", headers=other).json()["items"] == []
    assert credit.get("/v1/early-warnings").status_code == 403
    resp = credit.put("/v1/monitored-firms/org_p1/shop-1", json={"org_ids": []}, headers=lender)
    assert resp.status_code == 403


def test_unmonitored_firms_are_not_checked_and_bad_rules_are_422(credit: TestClient) -> None:
    assert credit.put("/v1/firms/shop-1", json=firm_body()).status_code in (200, 201)
    service = principal_headers("matching", "service")
    lender = principal_headers("org_l1", "lender")
    credit.put("/v1/monitored-firms/org_p1/shop-1", json={"org_ids": ["org_l1"]}, headers=service)
    credit.put("/v1/monitored-firms/org_p1/shop-1", json={"org_ids": []}, headers=service)
    for back in (4, 5, 6):
        _upload(credit, _sales("hi", back, 4, "500.00"))
    _upload(credit, _sales("lo", 1, 1, "1.00"))
    assert credit.get("/v1/early-warnings", headers=lender).json()["items"] == []
    resp = credit.put(
        "/v1/early-warning-rules", json={"nope": {}, "no_sales": {"days": -3}}, headers=lender
    )
    assert resp.status_code == 422
    locs = {e["location"] for e in resp.json()["errors"]}
    assert locs == {"body.nope", "body.no_sales.days"}
