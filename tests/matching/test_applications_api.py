"""Applications over HTTP with a real credit: offers ranked honestly, reasons for the rest."""

from __future__ import annotations

from decimal import Decimal

from services.matching.pricing import quote
from tests.matching.conftest import BANK, GUARANTOR, PLATFORM, SLC, World, as_


def _reasons(application: dict, loan_id: str, guarantee_id: str | None = None) -> list[str]:
    for entry in application["not_offered"]:
        if entry["loan_product_id"] == loan_id and entry["guarantee_product_id"] == guarantee_id:
            return entry["reasons"]
    raise AssertionError(f"{loan_id}/{guarantee_id} not in not_offered")


def test_offers_ranked_by_all_in_cost_not_by_nominal_rate(world: World) -> None:
    pd = world.firm("f1")
    world.bank()
    low_rate_big_fee = world.loan_product(
        name="teaser", base_rate="0.03", risk_premium_per_pd="0", upfront_fee_rate="0.05"
    )
    plain = world.loan_product(name="plain", base_rate="0.07", risk_premium_per_pd="0")
    priced_by_pd = world.loan_product(
        name="risk", base_rate="0.05", risk_premium_per_pd="2", max_rate="0.3"
    )
    app = world.apply("f1", amount="60000", term=6)
    ids = [o["loan_product_id"] for o in app["offers"]]
    costs = [Decimal(o["all_in_annual_cost"]) for o in app["offers"]]
    assert costs == sorted(costs)
    assert ids.index(plain["id"]) < ids.index(low_rate_big_fee["id"])
    by_id = {o["loan_product_id"]: o for o in app["offers"]}
    # rate = base + premium x PD (the lender carries all the risk without a guarantee)
    pd6 = Decimal(str(pd)).quantize(Decimal("0.000001"))
    assert Decimal(by_id[priced_by_pd["id"]]["annual_rate"]) == Decimal("0.05") + 2 * pd6
    exact = quote(
        amount=Decimal(60000),
        term_months=6,
        annual_rate=Decimal("0.03"),
        upfront_fee_rate=Decimal("0.05"),
    )
    teaser = by_id[low_rate_big_fee["id"]]
    assert Decimal(teaser["all_in_annual_cost"]) == exact.all_in_annual_cost
    assert Decimal(teaser["total_cost_cny"]) == exact.total_cost
    assert Decimal(teaser["monthly_payment_cny"]) == exact.monthly_payment
    stored = world.matching.get(f"/v1/applications/{app['id']}", headers=as_(PLATFORM, "platform"))
    assert stored.json()["offers"] == app["offers"]
    assert app["pd_12m"] == pd and app["model_version"]


def test_every_product_not_offered_says_why(world: World) -> None:
    pd = world.firm("f1", months=14, monthly_sales=10_000)
    world.bank()
    cases = {
        "amount_out_of_range": {"min_amount_cny": "200000", "max_amount_cny": "300000"},
        "term_out_of_range": {"max_term_months": 6},
        "pd_above_appetite": {"max_pd": f"{pd / 2:.6f}"},
        "industry_not_served": {"industries": ["manufacturing"]},
        "region_not_served": {"region_prefixes": ["44"]},
        "size_class_not_served": {"size_classes": ["medium"]},
        "history_too_short": {"min_history_months": 36},
        "sales_too_low": {"min_sales_12m_cny": "1000000"},
        "guarantee_required": {"requires_guarantee": True},
        "product_inactive": {
            "active_to": "2020-01-01T00:00:00Z",
            "active_from": "2019-01-01T00:00:00Z",
        },
    }
    products = {code: world.loan_product(name=code, **over)["id"] for code, over in cases.items()}
    no_profile = world.loan_product(org="org_ghost_lender", name="ghost")
    app = world.apply("f1", amount="100000", term=12)
    assert app["offers"] == [] and app["status"] == "no_offer"
    for code, product_id in products.items():
        assert code in _reasons(app, product_id), (code, _reasons(app, product_id))
    assert _reasons(app, products["amount_out_of_range"]) == ["amount_out_of_range"]
    assert "no_lender_profile" in _reasons(app, no_profile["id"])


def test_budget_and_concentration_reasons(world: World) -> None:
    world.firm("f1")
    world.bank(budget="50000")
    small_budget = world.loan_product(name="bank")
    world.put(
        SLC,
        "lender",
        "/v1/profile",
        {
            "lender_kind": "small_loan_company",
            "name": "slc",
            "net_assets_cny": "500000",
            "lending_budget_cny": "10000000",
        },
    )
    slc_product = world.loan_product(org=SLC, name="slc")
    app = world.apply("f1", amount="60000")
    assert _reasons(app, small_budget["id"]) == ["lender_budget_exhausted"]
    # 10% of 500,000 net assets is 50,000 for one borrower
    assert _reasons(app, slc_product["id"]) == ["single_borrower_limit"]
    profile = world.matching.get("/v1/profile", headers=as_(SLC, "lender")).json()
    assert profile["single_borrower_limit"] == "0.1" or Decimal(
        profile["single_borrower_limit"]
    ) == Decimal("0.1")


def test_guaranteed_offer_prices_only_the_lenders_loss_share(world: World) -> None:
    pd = world.firm("f1")
    world.bank()
    world.guarantor()
    loan = world.loan_product(
        name="needs guarantee",
        requires_guarantee=True,
        max_pd="0",
        max_pd_guaranteed="1",
        base_rate="0.04",
        risk_premium_per_pd="3",
    )
    guarantee = world.guarantee_product(coverage_ratio="0.8", annual_fee_rate="0.01")
    before = world.apply("f1")
    assert before["offers"] == []
    assert "no_risk_sharing_agreement" in _reasons(before, loan["id"], guarantee["id"])
    assert "guarantee_required" in _reasons(before, loan["id"])
    agreement = world.agreement(lender_share="0.2")
    assert agreement["status"] == "active"
    app = world.apply("f1", amount="100000", term=12)
    [offer] = app["offers"]
    assert offer["guarantee_product_id"] == guarantee["id"]
    assert offer["agreement_id"] == agreement["id"]
    assert Decimal(offer["lender_loss_share"]) == Decimal("0.2")
    pd6 = Decimal(str(round(pd * 0.2, 6)))
    assert Decimal(offer["annual_rate"]) == (Decimal("0.04") + 3 * pd6).quantize(
        Decimal("0.000001")
    )
    assert Decimal(offer["guaranteed_cny"]) == Decimal("80000.00")
    exact = quote(
        amount=Decimal(100000),
        term_months=12,
        annual_rate=Decimal(offer["annual_rate"]),
        upfront_fee_rate=Decimal(0),
        guarantee_fee_rate=Decimal("0.01"),
        guarantee_coverage=Decimal("0.8"),
    )
    assert Decimal(offer["guarantee_fee_cny"]) == exact.guarantee_fee > 0
    assert Decimal(offer["all_in_annual_cost"]) == exact.all_in_annual_cost


def test_guarantee_product_reasons_are_prefixed(world: World) -> None:
    pd = world.firm("f1")
    world.bank()
    world.guarantor(net_assets="100000")
    loan = world.loan_product(requires_guarantee=True)
    world.agreement()
    picky = world.guarantee_product(
        max_pd=f"{pd / 2:.6f}", industries=["catering"], max_per_firm_cny="1000"
    )
    app = world.apply("f1", amount="100000")
    reasons = _reasons(app, loan["id"], picky["id"])
    assert "guarantee_pd_above_appetite" in reasons
    assert "guarantee_industry_not_served" in reasons
    assert "guarantee_above_per_firm_max" in reasons
    # 80,000 of liability is above 10% of 100,000 net assets and 10x leverage is 1,000,000
    assert "guarantor_single_client_limit" in reasons
    assert "guarantor_leverage_cap" not in reasons


def test_bad_inputs_are_problems(world: World) -> None:
    world.bank()
    r = world.matching.post("/v1/loan-products", json={"name": "x"}, headers=as_(BANK, "lender"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    world.guarantor()
    bad_shares = {
        "name": "bad",
        "lender_org_id": BANK,
        "guarantor_org_id": GUARANTOR,
        "parties": [
            {"name": "b", "role": "lender", "share": "0.2"},
            {"name": "g", "role": "guarantor", "share": "0.7"},
        ],
    }
    r = world.matching.post(
        "/v1/risk-sharing-agreements", json=bad_shares, headers=as_(BANK, "lender")
    )
    assert r.status_code == 422 and "sum to exactly 1" in r.text
    r = world.matching.put("/v1/profile", json={"name": "g"}, headers=as_(GUARANTOR, "guarantor"))
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/net_assets_cny"
    r = world.matching.post(
        "/v1/guarantee-products",
        json={
            "name": "p",
            "coverage_ratio": "0.8",
            "annual_fee_rate": "0.02",
            "policy": True,
            "max_pd": "0.1",
            "max_per_firm_cny": "100",
        },
        headers=as_(GUARANTOR, "guarantor"),
    )
    assert r.status_code == 422 and "1% a year" in r.text
    r = world.matching.post(
        "/v1/applications",
        json={"firm_ref": "nope", "amount_cny": "1000", "term_months": 3},
        headers=as_(PLATFORM, "platform"),
    )
    assert r.status_code == 404
    r = world.matching.post("/v1/loan-products", json={}, headers=as_(PLATFORM, "platform"))
    assert r.status_code == 403


def test_guarantor_defaults_follow_the_regulation(world: World) -> None:
    world.guarantor()
    profile = world.matching.get("/v1/profile", headers=as_(GUARANTOR, "guarantor")).json()
    assert Decimal(profile["leverage_multiple"]) == 10
    assert Decimal(profile["single_client_limit"]) == Decimal("0.1")
    assert Decimal(profile["related_group_limit"]) == Decimal("0.15")
    world.guarantor(serves_small_micro=True)
    profile = world.matching.get("/v1/profile", headers=as_(GUARANTOR, "guarantor")).json()
    assert Decimal(profile["leverage_multiple"]) == 15


def test_only_the_best_offers_are_returned_the_rest_are_outranked(world: World) -> None:
    world.firm("f1")
    world.bank()
    products = [world.loan_product(name=f"p{k}", base_rate=f"0.0{k + 3}")["id"] for k in range(6)]
    products += [world.loan_product(name=f"q{k}", base_rate=f"0.1{k}")["id"] for k in range(6)]
    app = world.apply("f1")
    assert [o["loan_product_id"] for o in app["offers"]] == products[:10]
    assert [o["rank"] for o in app["offers"]] == list(range(1, 11))
    for product_id in products[10:]:
        assert _reasons(app, product_id) == ["outranked"]


def test_agreement_needs_the_other_party_to_confirm(world: World) -> None:
    world.bank()
    world.guarantor()
    body = {
        "name": "4321",
        "lender_org_id": BANK,
        "guarantor_org_id": GUARANTOR,
        "parties": [
            {"name": "b", "role": "lender", "share": "0.2"},
            {"name": "g", "role": "guarantor", "share": "0.8"},
        ],
    }
    outsider = world.matching.post(
        "/v1/risk-sharing-agreements", json=body, headers=as_("org_x", "lender")
    )
    assert outsider.status_code == 403
    proposed = world.post(BANK, "lender", "/v1/risk-sharing-agreements", body)
    assert proposed["status"] == "proposed" and Decimal(proposed["lender_share"]) == Decimal("0.2")
    own = world.matching.post(
        f"/v1/risk-sharing-agreements/{proposed['id']}/confirm", headers=as_(BANK, "lender")
    )
    assert own.status_code == 409
    stranger = world.matching.get(
        f"/v1/risk-sharing-agreements/{proposed['id']}", headers=as_("org_x", "guarantor")
    )
    assert stranger.status_code == 404
    first = world.post(
        GUARANTOR, "guarantor", f"/v1/risk-sharing-agreements/{proposed['id']}/confirm"
    )
    assert first["status"] == "active"
    second = world.agreement(lender_share="0.3")
    listed = world.matching.get("/v1/risk-sharing-agreements", headers=as_(BANK, "lender")).json()[
        "items"
    ]
    statuses = {a["id"]: a["status"] for a in listed}
    assert statuses == {first["id"]: "superseded", second["id"]: "active"}
