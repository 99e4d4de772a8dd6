"""Exposure drives monitoring: approval tells credit who is exposed, the end of the loan stops it.

Also the console's read routes: the portfolio against every limit and a referral's offer terms.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.credit.early_warning_models import MonitoredFirm
from tests.matching.conftest import BANK, GUARANTOR, PLATFORM, World, as_


def _monitored(world: World) -> list[str]:
    engine = world.credit.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.execute(select(MonitoredFirm)).scalars().all()
        return sorted(f"{r.platform_org_id}/{r.firm_ref}/{r.org_id}" for r in rows)


def _guaranteed_referral(world: World) -> dict[str, Any]:
    world.firm("f1")
    world.bank()
    world.guarantor()
    world.loan_product(requires_guarantee=True)
    world.guarantee_product()
    world.agreement()
    app = world.apply("f1")
    return world.post(
        PLATFORM,
        "platform",
        f"/v1/applications/{app['id']}/accept",
        {"offer_id": app["offers"][0]["id"]},
    )


def _refund_last_three_months(world: World) -> None:
    now = datetime.now(UTC)
    rows = []
    for back in (1, 2, 3):
        year, month = now.year, now.month - back
        while month <= 0:
            year, month = year - 1, month + 12
        rows.append(
            {
                "txn_id": f"rf-{back}",
                "type": "refund",
                "occurred_at": f"{year:04d}-{month:02d}-20T10:00:00+08:00",
                "amount": "8000.00",
                "currency": "CNY",
                "order_ref": f"o-f1-{back}-0",
            }
        )
    r = world.credit.post("/v1/firms/f1/transactions", json=rows, headers=as_(PLATFORM, "platform"))
    assert r.status_code == 200 and r.json()["inserted"] == 3, r.text


def test_approval_starts_monitoring_and_repayment_ends_it(world: World) -> None:
    rid = _guaranteed_referral(world)["referral_id"]
    world.post(BANK, "lender", f"/v1/referrals/{rid}/decision", {"decision": "approve"})
    assert _monitored(world) == []  # referred, not yet approved by both
    approved = world.post(
        GUARANTOR, "guarantor", f"/v1/referrals/{rid}/decision", {"decision": "approve"}
    )
    assert _monitored(world) == [f"{PLATFORM}/f1/{BANK}", f"{PLATFORM}/f1/{GUARANTOR}"]

    _refund_last_three_months(world)
    for org, kind in ((BANK, "lender"), (GUARANTOR, "guarantor")):
        items = world.credit.get("/v1/early-warnings", headers=as_(org, kind)).json()["items"]
        drop = [w for w in items if w["rule"] == "sales_drop"]
        assert len(drop) == 1 and drop[0]["firm_ref"] == "f1"
        assert drop[0]["evidence"]["drop_fraction"] == 0.8

    loan = approved["loan_id"]
    world.post(BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "disbursed"})
    assert len(_monitored(world)) == 2
    world.post(BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "repaid"})
    assert _monitored(world) == []


def test_a_declined_referral_is_never_monitored(world: World) -> None:
    rid = _guaranteed_referral(world)["referral_id"]
    world.post(BANK, "lender", f"/v1/referrals/{rid}/decision", {"decision": "decline"})
    assert _monitored(world) == []


def test_portfolio_shows_exposure_against_every_limit(world: World) -> None:
    accepted = _guaranteed_referral(world)
    bank = world.matching.get("/v1/portfolio", headers=as_(BANK, "lender"))
    assert bank.status_code == 200, bank.text
    p = bank.json()
    assert p["kind"] == "lender" and Decimal(p["used_cny"]) == Decimal(100000)
    assert Decimal(p["limit_cny"]) == Decimal(100000000)
    assert p["limit_used"] == 0.001
    [firm] = p["firms"]
    assert firm["firm_ref"] == "f1" and Decimal(firm["exposure_cny"]) == Decimal(100000)
    # This bank set no per-borrower limit: nothing to measure against.
    assert p["single_limit_cny"] is None and firm["single_limit_used"] is None
    g = world.matching.get("/v1/portfolio", headers=as_(GUARANTOR, "guarantor")).json()
    assert g["kind"] == "guarantor" and Decimal(g["firms"][0]["exposure_cny"]) == Decimal(80000)
    single = Decimal(g["single_limit_cny"])
    assert g["firms"][0]["single_limit_used"] == float(Decimal(80000) / single)
    assert world.matching.get("/v1/portfolio", headers=as_(PLATFORM, "platform")).status_code == 403
    assert world.matching.get("/v1/portfolio", headers=as_("org_l9", "lender")).status_code == 404

    offer = world.matching.get(
        f"/v1/referrals/{accepted['referral_id']}/offer", headers=as_(GUARANTOR, "guarantor")
    )
    assert offer.status_code == 200 and Decimal(offer.json()["guaranteed_cny"]) == Decimal(80000)
    assert Decimal(offer.json()["lender_loss_share"]) < 1
    stranger = world.matching.get(
        f"/v1/referrals/{accepted['referral_id']}/offer", headers=as_("org_l9", "lender")
    )
    assert stranger.status_code == 404
