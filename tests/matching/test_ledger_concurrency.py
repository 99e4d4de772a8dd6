"""50 concurrent acceptances at capacity for 10, over real HTTP: exactly 10 win, none overdraw."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from services.matching.models import CapacityReservation, GuarantorProfile, LenderProfile
from shared.db import make_engine
from tests.matching.conftest import BANK, GUARANTOR, PLATFORM, World, as_, served

N_APPLICATIONS = 50
CAPACITY_FOR = 10
AMOUNT = Decimal(10_000)


def _accept_all(url: str, accepts: list[tuple[str, str]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(accepts))
    results: list[Any] = [None] * len(accepts)

    def accept(i: int, application_id: str, offer_id: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            barrier.wait()
            results[i] = client.post(
                f"/v1/applications/{application_id}/accept",
                json={"offer_id": offer_id},
                headers=as_(PLATFORM, "platform"),
            )

    threads = [threading.Thread(target=accept, args=(i, a, o)) for i, (a, o) in enumerate(accepts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.parametrize(
    "limit", ["lender_budget", "guarantor_single_client", "guarantor_leverage"]
)
def test_fifty_concurrent_acceptances_at_capacity_for_ten(
    world: World, matching_app: Any, matching_settings: Any, limit: str
) -> None:
    # One firm applies 50 times, except for the leverage cap, which 50 firms share.
    firms = [f"f{i}" for i in range(N_APPLICATIONS)] if limit == "guarantor_leverage" else ["f0"]
    for ref in firms:
        world.firm(ref, months=13)
    liability = AMOUNT * Decimal("0.8")
    if limit == "lender_budget":
        world.bank(budget=str(AMOUNT * CAPACITY_FOR))
        world.loan_product()
    else:
        world.bank()
        if limit == "guarantor_single_client":
            # one client at most 10% of net assets: room for exactly 10 guarantees of 8,000
            world.guarantor(net_assets=str(liability * CAPACITY_FOR * 10))
        else:
            # 10x leverage on net assets: room for exactly 10 guarantees of 8,000 in all
            world.guarantor(
                net_assets=str(liability * CAPACITY_FOR / 10),
                single_client_limit="1",
                related_group_limit="1",
            )
        world.loan_product(requires_guarantee=True)
        world.guarantee_product(coverage_ratio="0.8", max_per_firm_cny="1000000")
        world.agreement()
    accepts = []
    for i in range(N_APPLICATIONS):
        app = world.apply(firms[i % len(firms)], amount=str(AMOUNT))
        [offer] = app["offers"]
        accepts.append((app["id"], offer["id"]))
    with served(matching_app) as url:
        results = _accept_all(url, accepts)
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == CAPACITY_FOR, codes
    assert codes.count(409) == N_APPLICATIONS - CAPACITY_FOR, codes
    refused = next(r for r in results if r.status_code == 409).json()
    assert refused["type"].endswith("/capacity-exceeded")
    expected_reason = {
        "lender_budget": "lender_budget_exhausted",
        "guarantor_single_client": "guarantor_single_client_limit",
        "guarantor_leverage": "guarantor_leverage_cap",
    }[limit]
    assert refused["reasons"] == [expected_reason]

    engine = make_engine(matching_settings.database_url)
    try:
        with Session(engine) as session:
            lender = session.get(LenderProfile, BANK)
            reservations = list(session.exec(select(CapacityReservation)))
            assert lender is not None
            assert len(reservations) == CAPACITY_FOR
            assert lender.used_cny == AMOUNT * CAPACITY_FOR <= lender.lending_budget_cny
            if limit != "lender_budget":
                guarantor = session.get(GuarantorProfile, GUARANTOR)
                assert guarantor is not None
                cap_cny = (
                    guarantor.net_assets_cny * guarantor.leverage_multiple
                    if limit == "guarantor_leverage"
                    else guarantor.net_assets_cny * guarantor.single_client_limit
                )
                assert guarantor.used_cny == sum(r.guarantee_cny for r in reservations) == cap_cny
    finally:
        engine.dispose()
