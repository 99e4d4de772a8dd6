"""The thinnest real path, over HTTP through the gateway, as a client would walk it."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from services.cli.client import SmefinClient
from services.credit.generator import GeneratorParams, simulate
from tests.e2e.conftest import LiveStack

pytestmark = pytest.mark.e2e


def test_platform_to_ranked_offers(live_stack: LiveStack) -> None:
    gw = live_stack.gateway
    with SmefinClient(gw, live_stack.admin_key) as admin:
        platform = admin.create_org("Test Mall", "platform")
        lender = admin.create_org("Test Bank", "lender")
        platform_key = admin.create_key(platform["id"], "ci")["token"]
        lender_key = admin.create_key(lender["id"], "ci")["token"]

    firm = next(iter(simulate(1, seed=42, params=GeneratorParams(median_monthly_sales=6000.0))))
    rows = [{k: v for k, v in r.items() if k != "firm_ref"} for r in firm.transactions("shop-1")]
    with SmefinClient(gw, platform_key) as plat:
        created = plat.request(
            "PUT",
            "/v1/firms/shop-1",
            {"industry": "retail", "region_code": "330106", "employees": 8},
        )
        assert created["size_class"] == "micro"
        report = plat.request("POST", "/v1/firms/shop-1/transactions", rows[:5000])
        assert report["received"] == min(len(rows), 5000)
        assert report["inserted"] == report["received"]
        again = plat.request("POST", "/v1/firms/shop-1/transactions", rows[:100])
        assert again["duplicates"] == 100 and again["inserted"] == 0

        score = plat.request("GET", "/v1/firms/shop-1/score")
        assert 0 < score["pd_12m"] < 1
        assert score["model_version"]
        assert 300 <= score["score"] <= 900
        assert len(score["reasons"]) <= 4

    with SmefinClient(gw, lender_key) as lend:
        lend.request(
            "PUT",
            "/v1/profile",
            {
                "lender_kind": "bank",
                "name": "Test Bank",
                "net_assets_cny": "1000000000",
                "lending_budget_cny": "50000000",
            },
        )
        product = lend.request(
            "POST",
            "/v1/loan-products",
            {
                "name": "Working capital",
                "min_amount_cny": "1000",
                "max_amount_cny": "500000",
                "min_term_months": 1,
                "max_term_months": 24,
                "base_rate": "0.05",
                "risk_premium_per_pd": "1.0",
                "max_rate": "0.24",
                "upfront_fee_rate": "0.01",
                "max_pd": "0.99",
            },
        )

    with SmefinClient(gw, platform_key) as plat:
        application = plat.request(
            "POST",
            "/v1/applications",
            {"firm_ref": "shop-1", "amount_cny": "30000", "term_months": 6},
        )
    assert application["status"] == "offered"
    offers = application["offers"]
    assert [o["loan_product_id"] for o in offers] == [product["id"]]
    offer = offers[0]
    # The all-in cost includes the upfront fee, so it is above the nominal rate.
    assert Decimal(offer["all_in_annual_cost"]) > Decimal(offer["annual_rate"])
    assert application["model_version"] == score["model_version"]


def test_tenancy_and_auth_through_gateway(live_stack: LiveStack) -> None:
    gw = live_stack.gateway
    with SmefinClient(gw, live_stack.admin_key) as admin:
        a = admin.create_key(admin.create_org("Mall A", "platform")["id"])["token"]
        b = admin.create_key(admin.create_org("Mall B", "platform")["id"])["token"]
    with SmefinClient(gw, a) as plat_a:
        plat_a.request(
            "PUT", "/v1/firms/secret-shop", {"industry": "retail", "region_code": "110105"}
        )
    with httpx.Client(base_url=gw, timeout=10) as http:
        r = http.get("/v1/firms/secret-shop", headers={"Authorization": f"Bearer {b}"})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert http.get("/v1/firms/secret-shop").status_code == 401
        bad = http.get("/v1/firms", headers={"Authorization": "Bearer smf_0000000000000000_nope"})
        assert bad.status_code == 401
        # A platform key cannot publish loan products.
        r = http.post("/v1/loan-products", json={}, headers={"Authorization": f"Bearer {a}"})
        assert r.status_code == 403
        # Services refuse calls that bypass the gateway.
        direct = http.get(live_stack.stack.url("credit") + "/v1/firms")
        assert direct.status_code == 401
        assert r.headers.get("x-request-id")


def test_revoked_key_stops_working(live_stack: LiveStack) -> None:
    gw = live_stack.gateway
    with SmefinClient(gw, live_stack.admin_key) as admin:
        org = admin.create_org("Mall C", "platform")
        created = admin.create_key(org["id"])
        admin.request("DELETE", f"/v1/api-keys/{created['id']}")
    with httpx.Client(base_url=gw, timeout=10) as http:
        r = http.get("/v1/firms", headers={"Authorization": f"Bearer {created['token']}"})
        assert r.status_code == 401
