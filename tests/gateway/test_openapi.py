"""One OpenAPI 3.1 document for the public API: valid, complete, and good enough for a generated
client to walk the main flow."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate

from services.gateway.routes import FORWARD_ROUTES
from tests.gateway.conftest import RunningGateway, wait_for
from tests.gateway.openapi_client import DocumentClient

MAIN_FLOW_ROWS = 40


def _doc(gw: RunningGateway) -> dict[str, Any]:
    with gw.client() as c:
        r = c.get("/openapi.json")
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]


def test_document_is_valid_and_covers_every_route(gateway: RunningGateway) -> None:
    doc = _doc(gateway)
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for route in FORWARD_ROUTES:
        op = doc["paths"][route.path][route.method.lower()]
        assert op["x-required-scope"] == route.scope
        assert op["responses"]["401"]["content"]["application/problem+json"]
        assert "422" in op["responses"] and "429" in op["responses"] and "503" in op["responses"]
        if "{" in route.path:
            assert "404" in op["responses"]
        if route.method == "POST":
            assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
    # Request and response schemas are the services' real ones, not placeholders.
    score = doc["paths"]["/v1/firms/{firm_ref}/score"]["get"]["responses"]["200"]
    assert score["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScorePublic"
    }
    app_body = doc["paths"]["/v1/applications"]["post"]["requestBody"]["content"]
    assert "ApplicationIn" in str(app_body)
    own = doc["paths"]["/v1/webhook-endpoints"]["post"]
    assert own["x-required-scope"] == "webhooks:manage"
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids)
    assert "HTTPValidationError" not in str(doc)
    with gateway.client() as c:
        assert c.get("/docs").status_code == 200


def _rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        month = 1 + i % 10
        rows.append(
            {
                "txn_id": f"t{i}",
                "type": "sale",
                "occurred_at": f"2026-{month:02d}-{1 + i % 27:02d}T10:00:00+08:00",
                "amount": f"{200 + i * 7}.00",
                "currency": "CNY",
                "order_ref": f"o{i}",
                "buyer_ref": f"buyer-{i % 9}",
            }
        )
    return rows


def test_generated_client_walks_the_main_flow(full_gateway: RunningGateway) -> None:
    doc = _doc(full_gateway)
    from tests.gateway.conftest import ADMIN_KEY

    admin = DocumentClient(doc, full_gateway.url, ADMIN_KEY)
    status, platform = admin.call(
        "post_organization", {"name": "shop platform", "kind": "platform"}
    )
    assert status == 201
    status, pkey = admin.call("post_api_key", {"name": "main"}, org_id=platform["id"])
    assert status == 201
    _, lender = admin.call("post_organization", {"name": "bank", "kind": "lender"})
    _, lkey = admin.call("post_api_key", {}, org_id=lender["id"])

    p = DocumentClient(doc, full_gateway.url, pkey["token"])
    status, firm = p.call(
        "put_firm", {"industry": "retail", "region_code": "330106"}, firm_ref="flow-1"
    )
    assert status in {200, 201} and firm["firm_ref"] == "flow-1"
    status, report = p.call("post_transactions", _rows(MAIN_FLOW_ROWS), firm_ref="flow-1")
    assert status == 200 and report["inserted"] == MAIN_FLOW_ROWS
    status, score = p.call("get_score", firm_ref="flow-1")
    assert status == 200 and 0 < float(score["pd_12m"]) < 1

    lend = DocumentClient(doc, full_gateway.url, lkey["token"])
    # A lender offers nothing until matching knows its budget (`no_lender_profile` otherwise).
    status, profile = lend.call(
        "put_profile",
        {
            "lender_kind": "bank",
            "name": "bank",
            "net_assets_cny": "100000000.00",
            "lending_budget_cny": "5000000.00",
        },
    )
    assert status == 200 and profile["lending_budget_cny"] == "5000000.00", profile
    status, product = lend.call(
        "post_loan_product",
        {
            "name": "working capital",
            "min_amount_cny": "1000.00",
            "max_amount_cny": "500000.00",
            "min_term_months": 3,
            "max_term_months": 24,
            "base_rate": "0.06",
            "risk_premium_per_pd": "0.5",
            "max_rate": "0.24",
            "max_pd": "0.99",
        },
        headers={"Idempotency-Key": "product-1"},
    )
    assert status == 201, product
    status, application = p.call(
        "post_application",
        {"firm_ref": "flow-1", "amount_cny": "20000.00", "term_months": 12},
    )
    assert status == 201, application
    status, again = p.call("get_application", application_id=application["id"])
    assert status == 200 and again["id"] == application["id"]
    # Problems are in the document too: an unknown firm is a declared 404 problem.
    status, problem = p.call("get_score", firm_ref="nobody")
    assert status == 404 and problem["status"] == 404
    status, problem = p.call("post_application", {"firm_ref": "flow-1", "amount_cny": "-1"})
    assert status == 422 and problem["errors"]
    ours = [o for o in application["offers"] if o["loan_product_id"] == product["id"]]
    assert ours, [n["reasons"] for n in application["not_offered"]]
    status, accepted = p.call(
        "accept", {"offer_id": ours[0]["id"]}, application_id=application["id"]
    )
    assert status == 200 and accepted["status"] == "accepted"
    # The outbox reached the gateway: the platform and the lender see their own events.
    wait_for(
        lambda: (
            {e["type"] for e in p.call("list_events")[1]["items"]}
            >= {"transactions.ingested", "application.created", "offer.accepted"}
        )
    )
    lender_events = wait_for(lambda: lend.call("list_events")[1]["items"])
    accepted_events = [e for e in lender_events if e["type"] == "offer.accepted"]
    assert len(accepted_events) == 1
    assert accepted_events[0]["data"]["offer_id"] == ours[0]["id"]
    # Every referral transition reaches the parties to the deal, the lender included.
    assert {e["type"] for e in lender_events} <= {"offer.accepted", "referral.referred"}
    # The lender approves the referral and reports the loan disbursed; the platform hears of both.
    status, referral = lend.call(
        "decide", {"decision": "approve"}, referral_id=accepted["referral_id"]
    )
    assert status == 200 and referral["status"] == "approved" and referral["loan_id"], referral
    status, loan = lend.call("post_loan_event", {"kind": "disbursed"}, loan_id=referral["loan_id"])
    assert status == 200 and loan["status"] == "disbursed", loan
    wait_for(
        lambda: (
            {e["type"] for e in p.call("list_events")[1]["items"]}
            >= {"referral.approved", "loan.disbursed"}
        )
    )
    for client in (admin, p, lend):
        client.close()
