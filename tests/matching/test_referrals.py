"""Referrals and loans: the state machine, who sees what, events, exposure, expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from services.matching import referrals as referrals_mod
from shared.db import make_engine, utcnow
from tests.matching.conftest import BANK, GUARANTOR, PLATFORM, World, as_


def _accepted(world: World, *, guaranteed: bool = False, amount: str = "100000") -> dict[str, Any]:
    world.firm("f1")
    world.bank()
    if guaranteed:
        world.guarantor()
        world.loan_product(requires_guarantee=True)
        world.guarantee_product()
        world.agreement()
    else:
        world.loan_product()
    app = world.apply("f1", amount=amount)
    accepted = world.post(
        PLATFORM,
        "platform",
        f"/v1/applications/{app['id']}/accept",
        {"offer_id": app["offers"][0]["id"]},
    )
    assert accepted["status"] == "accepted" and accepted["referral_id"]
    return accepted


def _used(world: World, org: str, kind: str) -> Decimal:
    return Decimal(world.matching.get("/v1/profile", headers=as_(org, kind)).json()["used_cny"])


def test_guaranteed_lifecycle_both_decide_then_loan_events(world: World) -> None:
    accepted = _accepted(world, guaranteed=True)
    rid = accepted["referral_id"]
    assert _used(world, BANK, "lender") == Decimal(100000)
    assert _used(world, GUARANTOR, "guarantor") == Decimal(80000)
    listing = world.matching.get("/v1/referrals", headers=as_(GUARANTOR, "guarantor")).json()
    assert [r["id"] for r in listing["items"]] == [rid]
    assert listing["items"][0]["status"] == "referred"

    after_lender = world.post(
        BANK, "lender", f"/v1/referrals/{rid}/decision", {"decision": "approve"}
    )
    assert after_lender["status"] == "referred" and after_lender["loan_id"] is None
    again = world.matching.post(
        f"/v1/referrals/{rid}/decision", json={"decision": "approve"}, headers=as_(BANK, "lender")
    )
    assert again.status_code == 409 and again.json()["type"].endswith("/illegal-transition")
    approved = world.post(
        GUARANTOR, "guarantor", f"/v1/referrals/{rid}/decision", {"decision": "approve"}
    )
    assert approved["status"] == "approved"
    loan = approved["loan_id"]

    early = world.matching.post(
        f"/v1/loans/{loan}/events", json={"kind": "repaid"}, headers=as_(BANK, "lender")
    )
    assert early.status_code == 409
    world.post(BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "disbursed"})
    paid = world.post(
        BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "repayment", "principal_cny": "25000"}
    )
    assert Decimal(paid["outstanding_cny"]) == Decimal(75000)
    assert _used(world, BANK, "lender") == Decimal(75000)
    assert _used(world, GUARANTOR, "guarantor") == Decimal(60000)
    too_much = world.matching.post(
        f"/v1/loans/{loan}/events",
        json={"kind": "repayment", "principal_cny": "75000.01"},
        headers=as_(BANK, "lender"),
    )
    assert too_much.status_code == 422
    late = world.post(
        BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "days_overdue", "days_overdue": 12}
    )
    assert late["days_overdue"] == 12
    done = world.post(BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "repaid"})
    assert done["status"] == "repaid"
    assert _used(world, BANK, "lender") == 0
    assert _used(world, GUARANTOR, "guarantor") == 0
    after = world.matching.post(
        f"/v1/loans/{loan}/events", json={"kind": "default"}, headers=as_(BANK, "lender")
    )
    assert after.status_code == 409

    kinds = [
        e["kind"]
        for e in world.matching.get(
            f"/v1/referrals/{rid}/events", headers=as_(PLATFORM, "platform")
        ).json()
    ]
    assert kinds == [
        "offer.accepted",
        "referral.referred",
        "referral.lender_approved",
        "referral.guarantor_approved",
        "referral.approved",
        "loan.disbursed",
        "loan.repayment",
        "loan.days_overdue",
        "loan.repaid",
    ]


def test_decline_releases_capacity_and_others_see_nothing(world: World) -> None:
    accepted = _accepted(world)
    rid = accepted["referral_id"]
    other_lender = as_("org_other_bank", "lender")
    assert world.matching.get(f"/v1/referrals/{rid}", headers=other_lender).status_code == 404
    assert world.matching.get("/v1/referrals", headers=other_lender).json()["items"] == []
    refused = world.matching.post(
        f"/v1/referrals/{rid}/decision", json={"decision": "approve"}, headers=other_lender
    )
    assert refused.status_code == 404
    assert _used(world, BANK, "lender") == Decimal(100000)
    declined = world.post(
        BANK,
        "lender",
        f"/v1/referrals/{rid}/decision",
        {"decision": "decline", "note": "thin file"},
    )
    assert declined["status"] == "declined"
    assert _used(world, BANK, "lender") == 0
    second = world.matching.post(
        f"/v1/applications/{accepted['id']}/accept",
        json={"offer_id": accepted["offers"][0]["id"]},
        headers=as_(PLATFORM, "platform"),
    )
    assert second.status_code == 409


def test_default_releases_and_queues_outcome(world: World) -> None:
    rid = _accepted(world)["referral_id"]
    loan = world.post(BANK, "lender", f"/v1/referrals/{rid}/decision", {"decision": "approve"})[
        "loan_id"
    ]
    world.post(BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "disbursed"})
    defaulted = world.post(BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "default"})
    assert defaulted["status"] == "defaulted"
    assert _used(world, BANK, "lender") == 0


def test_reservation_expires_after_ttl(world: World, matching_settings: Any) -> None:
    rid = _accepted(world)["referral_id"]
    engine = make_engine(matching_settings.database_url)
    try:
        assert referrals_mod.expire_reservations(engine, utcnow()) == 0
        later = utcnow() + timedelta(hours=matching_settings.reservation_ttl_hours + 1)
        assert referrals_mod.expire_reservations(engine, later) == 1
    finally:
        engine.dispose()
    assert _used(world, BANK, "lender") == 0
    referral = world.matching.get(f"/v1/referrals/{rid}", headers=as_(BANK, "lender")).json()
    assert referral["status"] == "expired"
    late = world.matching.post(
        f"/v1/referrals/{rid}/decision", json={"decision": "approve"}, headers=as_(BANK, "lender")
    )
    assert late.status_code == 409


def test_related_group_concentration(world: World) -> None:
    world.firm("a")
    world.firm("b")
    world.put(
        "org_slc",
        "lender",
        "/v1/profile",
        {
            "lender_kind": "small_loan_company",
            "name": "slc",
            "net_assets_cny": "1000000",
            "lending_budget_cny": "10000000",
        },
    )
    product = world.loan_product(org="org_slc")
    group = world.post(
        PLATFORM,
        "platform",
        "/v1/related-party-groups",
        {"name": "one owner", "firm_refs": ["a", "b"]},
    )
    assert group["firm_refs"] == ["a", "b"]
    dup = world.matching.post(
        "/v1/related-party-groups",
        json={"name": "x", "firm_refs": ["b", "c"]},
        headers=as_(PLATFORM, "platform"),
    )
    assert dup.status_code == 409
    first = world.apply("a", amount="90000")
    world.post(
        PLATFORM,
        "platform",
        f"/v1/applications/{first['id']}/accept",
        {"offer_id": first["offers"][0]["id"]},
    )
    # b alone is under 10% (90,000 < 100,000) but a and b together pass 15% (180,000 > 150,000)
    second = world.apply("b", amount="90000")
    assert second["offers"] == []
    [entry] = [
        n
        for n in second["not_offered"]
        if n["loan_product_id"] == product["id"] and n["guarantee_product_id"] is None
    ]
    assert entry["reasons"] == ["related_group_limit"]
    unrelated_ok = world.apply("b", amount="60000")
    assert len(unrelated_ok["offers"]) == 1
