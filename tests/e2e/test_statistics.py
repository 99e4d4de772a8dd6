"""SME operating statistics through the gateway: credit's sales beside matching's financing."""

from __future__ import annotations

import httpx
import pytest

from services.cli.client import SmefinClient
from services.credit.generator import GeneratorParams, simulate
from shared.db import utcnow
from tests.e2e.conftest import LiveStack

pytestmark = pytest.mark.e2e


def test_statistics_by_province_with_suppression_and_csv(live_stack: LiveStack) -> None:
    with SmefinClient(live_stack.gateway, live_stack.admin_key) as admin:
        org = admin.create_org("Stats Mall", "platform")
        key = admin.create_key(org["id"])["token"]
    params = GeneratorParams(median_monthly_sales=2500.0, sales_sigma=0.0)
    regions = ["330106"] * 5 + ["110105"] * 2
    with SmefinClient(live_stack.gateway, key) as plat:
        for firm, region in zip(
            simulate(len(regions), seed=11, params=params), regions, strict=True
        ):
            ref = f"st-{firm.index}"
            plat.request("PUT", f"/v1/firms/{ref}", {"industry": "retail", "region_code": region})
            rows = [{k: v for k, v in r.items() if k != "firm_ref"} for r in firm.transactions(ref)]
            plat.request("POST", f"/v1/firms/{ref}/transactions", rows[:10_000])
            plat.request(
                "POST",
                "/v1/applications",
                {"firm_ref": ref, "amount_cny": "8000", "term_months": 6},
            )
    month = f"{utcnow():%Y-%m}"
    query = {"month_from": "2024-01", "month_to": month, "group_by": "province"}
    with SmefinClient(live_stack.gateway, live_stack.admin_key) as admin:
        stats = admin.request("GET", "/v1/statistics", params=query)
    rows = {(r["month"], r["group"]): r for r in stats["rows"]}
    now_zj = rows[(month, "330000")]
    assert now_zj["firms_applied"] == 5 and now_zj["applications"] == 5
    assert now_zj["applied_cny"] == "40000.00"
    assert now_zj["financing_suppressed"] is False
    assert rows[(month, "110000")]["financing_suppressed"] is True
    assert rows[(month, "110000")]["applications"] is None
    sales_rows = [r for (m, g), r in rows.items() if g == "330000" and r.get("firms") is not None]
    assert sales_rows and all(r["firms"] >= 5 for r in sales_rows)
    assert all(
        r.get("sales_suppressed")
        for (m, g), r in rows.items()
        if g == "110000" and "sales_suppressed" in r
    )

    with httpx.Client(base_url=live_stack.gateway, timeout=30) as http:
        auth = {"Authorization": f"Bearer {live_stack.admin_key}"}
        csv_text = http.get("/v1/statistics", params=query | {"format": "csv"}, headers=auth).text
        assert csv_text.splitlines()[0].startswith("month,group,firms,active_firms")
        platform_try = http.get(
            "/v1/statistics", params=query, headers={"Authorization": f"Bearer {key}"}
        )
        assert platform_try.status_code == 403
