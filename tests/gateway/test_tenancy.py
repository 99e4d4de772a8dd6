"""Tenancy matrix, generated from the route table and the gateway's own routes, so a new route
cannot escape it: every resource route called with another organisation's key is a 404 (never a
403, which would leak existence), and every list route returns only the caller's own items.

A new route with a new path parameter fails here until SEEDS says how to make one of its
resources for organisation A.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from services.gateway.openapi import api_routes, route_scope
from services.gateway.routes import FORWARD_ROUTES
from services.gateway.scopes import DEFAULT_SCOPES
from tests.gateway.conftest import RunningGateway, wait_for

KINDS = ("platform", "lender", "guarantor")
# PUT on a caller-named resource creates the caller's own one: it must leave A's untouched.
# Which of A's organisations owns the resource a path parameter names.
OWNERS = {
    "firm_ref": "platform",
    "application_id": "platform",
    "product_id": "lender",
    "guarantee_product_id": "guarantor",
    # Proposed by A's lender, confirmed by A's guarantor: either party reads it.
    "agreement_id": "lender",
    "group_id": "platform",
    "consent_id": "platform",
    # The platform, lender and guarantor of the deal all read it; firm data is for the lender,
    # whom the firm's consent names.
    "referral_id": "lender",
    "loan_id": "lender",
    "endpoint_id": "platform",
    "delivery_id": "platform",
    "key_id": "platform",
    "job_id": "platform",
}
# Ids that exist nowhere, to tell "not yours" from "not for your kind".
GHOSTS = {name: "ghost0000" if name != "delivery_id" else "999999999" for name in OWNERS}
# A valid body for write routes whose body is checked before ownership (a "{name}" value is
# replaced by seed()'s value of that name: a consent names a real lender or it is a 422).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/applications/{application_id}/accept"): {"offer_id": "ofr_ghost"},
    ("POST", "/v1/referrals/{referral_id}/decision"): {"decision": "approve"},
    ("POST", "/v1/loans/{loan_id}/events"): {"kind": "days_overdue", "days_overdue": 1},
    ("POST", "/v1/firms/{firm_ref}/consents"): {"grantee_org_id": "{lender_org_id}"},
}
UPSERT_ROUTES = {("PUT", "/v1/firms/{firm_ref}"), ("PUT", "/v1/profile")}


@dataclass(frozen=True)
class Call:
    """One public route: method, path template, scope."""

    method: str
    path: str
    scope: str


def public_routes(gw: RunningGateway) -> list[Call]:
    """Every /v1 route: the forward table plus the gateway's own routes."""
    calls = [Call(r.method, r.path, r.scope) for r in FORWARD_ROUTES]
    for route in api_routes(gw.app.routes):
        if route.path.startswith("/v1/"):
            scope = route_scope(route)
            assert scope, f"{route.path} declares no scope"
            calls.extend(Call(m, route.path, scope) for m in sorted(route.methods or ()))
    return calls


def kinds_with(scope: str) -> list[str]:
    """Organisation kinds (not operators) whose keys hold a scope by default."""
    return [k for k in KINDS if scope in DEFAULT_SCOPES[k]]


def _rows(ref: str) -> list[dict[str, Any]]:
    return [
        {
            "txn_id": f"{ref}-{i}",
            "type": "sale",
            "occurred_at": f"2026-{1 + i % 9:02d}-10T10:00:00+08:00",
            "amount": "300.00",
            "currency": "CNY",
            "order_ref": f"o{i}",
            "buyer_ref": f"b{i % 5}",
        }
        for i in range(30)
    ]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def _seed_catalogue(
    gw: RunningGateway, orgs: dict[str, str], keys: dict[str, str]
) -> dict[str, str]:
    """A's lender and guarantor: profiles with capacity, a loan product that takes only
    guaranteed deals, a guarantee product, and a 4321 agreement proposed by the lender and
    confirmed by the guarantor (so A's application gets A's guaranteed offer)."""
    profiles = {
        "lender": {
            "lender_kind": "bank",
            "name": "A bank",
            "net_assets_cny": "100000000.00",
            "lending_budget_cny": "5000000.00",
        },
        "guarantor": {"name": "A guarantor", "net_assets_cny": "100000000.00"},
    }
    for kind, profile in profiles.items():
        with gw.client(keys[kind]) as c:
            assert c.put("/v1/profile", json=profile).status_code in {200, 201}
    with gw.client(keys["lender"]) as c:
        product = _ok(
            c.post(
                "/v1/loan-products",
                json={
                    "name": "A loan",
                    "min_amount_cny": "1000.00",
                    "max_amount_cny": "100000.00",
                    "min_term_months": 3,
                    "max_term_months": 24,
                    "base_rate": "0.05",
                    "risk_premium_per_pd": "0.5",
                    "max_rate": "0.3",
                    "max_pd": "0.99",
                    "max_pd_guaranteed": "0.99",
                    "requires_guarantee": True,
                },
            ),
            201,
        )
        shares = [("A bank", "lender", "0.2"), ("A guarantor", "guarantor", "0.4")]
        shares += [("re-guarantor", "re_guarantor", "0.3"), ("government", "government", "0.1")]
        proposed = _ok(
            c.post(
                "/v1/risk-sharing-agreements",
                json={
                    "name": "A 4321",
                    "lender_org_id": orgs["lender"],
                    "guarantor_org_id": orgs["guarantor"],
                    "parties": [{"name": n, "role": r, "share": v} for n, r, v in shares],
                },
            ),
            201,
        )
    with gw.client(keys["guarantor"]) as c:
        guarantee = _ok(
            c.post(
                "/v1/guarantee-products",
                json={
                    "name": "A guarantee",
                    "coverage_ratio": "0.8",
                    "annual_fee_rate": "0.01",
                    "max_pd": "0.99",
                    "max_per_firm_cny": "1000000.00",
                },
            ),
            201,
        )
        confirmed = _ok(c.post(f"/v1/risk-sharing-agreements/{proposed['id']}/confirm"))
        assert confirmed["status"] == "active", confirmed
    return {
        "product_id": product["id"],
        "guarantee_product_id": guarantee["id"],
        "agreement_id": proposed["id"],
    }


def _seed_deal(
    gw: RunningGateway, orgs: dict[str, str], keys: dict[str, str], ids: dict[str, str]
) -> dict[str, str]:
    """A's platform applies for its firm, records the firm's consent for A's lender, declares
    a related group and accepts A's guaranteed offer; both parties approve and the lender
    reports the loan disbursed."""
    with gw.client(keys["platform"]) as c:
        # A non-default setting, so another platform seeing it would be a leak, not a default.
        tz = c.put("/v1/platform-settings", json={"timezone": "Asia/Urumqi"})
        assert tz.status_code == 200, tz.text
        firm = {"industry": "retail", "region_code": "330106"}
        assert c.put("/v1/firms/ten-firm", json=firm).status_code == 201
        assert c.post("/v1/firms/ten-firm/transactions", json=_rows("ten")).status_code == 200
        application = _ok(
            c.post(
                "/v1/applications",
                json={"firm_ref": "ten-firm", "amount_cny": "5000.00", "term_months": 6},
            ),
            201,
        )
        ours = [
            o
            for o in application["offers"]
            if (o["loan_product_id"], o["guarantee_product_id"])
            == (ids["product_id"], ids["guarantee_product_id"])
        ]
        assert ours, f"A's application got no offer of A's products: {application['not_offered']}"
        consent = _ok(
            c.post(
                "/v1/firms/ten-firm/consents",
                json={"grantee_org_id": orgs["lender"], "purpose": "financing_review"},
            ),
            201,
        )
        group = _ok(
            c.post(
                "/v1/related-party-groups",
                json={"name": "A's family", "firm_refs": ["ten-firm", "ten-firm-sister"]},
            ),
            201,
        )
        accepted = _ok(
            c.post(f"/v1/applications/{application['id']}/accept", json={"offer_id": ours[0]["id"]})
        )
    referral_id = accepted["referral_id"]
    for kind in ("lender", "guarantor"):
        with gw.client(keys[kind]) as c:
            decided = _ok(
                c.post(f"/v1/referrals/{referral_id}/decision", json={"decision": "approve"})
            )
    assert decided["status"] == "approved" and decided["loan_id"], decided
    with gw.client(keys["lender"]) as c:
        disbursed = _ok(
            c.post(f"/v1/loans/{decided['loan_id']}/events", json={"kind": "disbursed"})
        )
        assert disbursed["status"] == "disbursed", disbursed
    return {
        "firm_ref": "ten-firm",
        "application_id": application["id"],
        "consent_id": consent["id"],
        "group_id": group["id"],
        "referral_id": referral_id,
        "loan_id": decided["loan_id"],
    }


def seed(gw: RunningGateway) -> tuple[dict[str, str], dict[str, str]]:
    """Organisation A's resources: (kind -> A's key, path parameter -> A's resource id)."""
    orgs: dict[str, str] = {}
    keys: dict[str, str] = {}
    for kind in KINDS:
        orgs[kind], keys[kind] = gw.new_org(kind)
    endpoints: dict[str, str] = {}
    for kind, key in keys.items():
        with gw.client(key) as c:
            made = c.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/a"})
            endpoints[kind] = _ok(made, 201)["id"]
    for kind in ("lender", "guarantor"):
        with gw.client(keys[kind]) as c:
            # Non-default thresholds, so another org seeing them would be a leak.
            rules = {"sales_drop": {"drop_fraction": 0.45}}
            _ok(c.put("/v1/early-warning-rules", json=rules), 200)
    params = _seed_catalogue(gw, orgs, keys)
    params |= _seed_deal(gw, orgs, keys, params)
    with gw.client(keys["platform"]) as c:
        job = _ok(c.post("/v1/score-batches"), 202)
        endpoint_id = endpoints["platform"]
        deliveries = wait_for(
            lambda: c.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries").json()["items"]
        )
        wait_for(lambda: c.get("/v1/events").json()["items"])
    for key in keys.values():
        with gw.client(key) as c:
            wait_for(lambda c=c: c.get("/v1/events").json()["items"] or c.get("/v1/api-keys"))
    params |= {
        "endpoint_id": endpoint_id,
        "delivery_id": str(deliveries[0]["id"]),
        "key_id": keys["platform"].split("_")[1],
        "job_id": job["id"],
        "lender_org_id": orgs["lender"],  # not a path parameter: BODIES' consent grantee
    }
    return keys, params


def _url(call: Call, params: dict[str, str]) -> str:
    url = call.path
    for name in re.findall(r"{(\w+)}", call.path):
        assert name in params, (
            f"{call.method} {call.path}: no seed for path parameter {name!r}; "
            "add one to seed() in tests/gateway/test_tenancy.py"
        )
        url = url.replace("{" + name + "}", params[name])
    return url


def _body(call: Call, params: dict[str, str]) -> dict[str, Any]:
    body = BODIES.get((call.method, call.path), {})
    return {
        k: params[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v
        for k, v in body.items()
    }


def _items(body: Any) -> list[Any]:
    return body["items"] if isinstance(body, dict) and "items" in body else [body]


def test_other_organisations_get_404_and_see_nothing_of_ours(full_gateway: RunningGateway) -> None:
    gw = full_gateway
    keys, params = seed(gw)
    others = {kind: gw.new_org(kind)[1] for kind in KINDS}
    checked_resources = checked_lists = 0

    def ours_of(url: str, callers: list[str]) -> list[Any]:
        """Everything A's organisations see on a list route (it must not be empty)."""
        ours: list[Any] = []
        for kind in callers:
            with gw.client(keys[kind]) as mine:
                own = mine.get(url)
            if own.status_code == 200:
                ours.extend(_items(own.json()))
        assert ours, f"{url}: A has no items; seed one in seed()"
        return ours

    for call in public_routes(gw):
        callers = kinds_with(call.scope)
        if not callers:
            continue  # operator-only route: operators act across organisations by design
        url = _url(call, params)
        is_resource = "{" in call.path
        for kind in callers:
            other = others[kind]
            with gw.client(other) as c:
                if (call.method, call.path) in UPSERT_ROUTES:
                    with gw.client(keys[kind]) as mine:
                        before = mine.get(url)
                    c.request(call.method, url, json={})
                    with gw.client(keys[kind]) as mine:
                        after = mine.get(url)
                    assert before.status_code == after.status_code
                    if before.status_code == 200:
                        assert before.json() == after.json(), f"other {kind} changed A's {url}"
                elif is_resource:
                    body = _body(call, params) if call.method != "GET" else None
                    r = c.request(call.method, url, json=body)
                    ghost = c.request(call.method, _url(call, GHOSTS), json=body)
                    if ghost.status_code == 403:
                        # The service refuses this kind for the whole resource type (a
                        # guarantor asking for loan products): the same 403 whether A's
                        # resource exists or not, so nothing about it leaks.
                        assert r.status_code == 403, r.text
                        assert r.json()["detail"] == ghost.json()["detail"]
                        continue
                    assert r.status_code != 422, f"{call.path}: add a valid body to BODIES"
                    assert r.status_code == 404, f"{call.method} {url} as other {kind}: {r.text}"
                    checked_resources += 1
                elif call.method == "GET":
                    theirs = c.get(url)
                    if theirs.status_code in {403, 404}:
                        continue  # not served to this kind (a lender-only profile, say)
                    assert theirs.status_code == 200, theirs.text
                    leaked = [i for i in _items(theirs.json()) if i in ours_of(url, callers)]
                    assert not leaked, f"{url} as other {kind} shows A's items: {leaked}"
                    checked_lists += 1
        if is_resource and call.method == "GET":
            # The 404s are not trivial: A's owner of the resource reads it fine.
            owner = OWNERS[re.findall(r"{(\w+)}", call.path)[-1]]
            if owner in callers:
                with gw.client(keys[owner]) as mine:
                    ok = mine.get(url)
                assert ok.status_code == 200, f"{url} as its owner: {ok.text}"
    assert checked_resources >= 10 and checked_lists >= 4
