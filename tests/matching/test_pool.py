"""The allocation read: pending applications with options, and remaining capacities."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session

from services.matching import capacity as cap
from services.matching.pool import read_pool
from shared.db import make_engine
from tests.matching.conftest import BANK, GUARANTOR, PLATFORM, World


def test_pool_lists_pending_options_and_remaining_capacity(
    world: World, matching_settings: Any
) -> None:
    world.firm("a")
    world.firm("b")
    world.bank(budget="1000000")
    world.guarantor(net_assets="1000000")
    world.loan_product()
    world.guarantee_product()
    world.agreement()
    world.post(
        PLATFORM, "platform", "/v1/related-party-groups", {"name": "g", "firm_refs": ["a", "b"]}
    )
    taken = world.apply("a", amount="50000")
    guaranteed = next(o for o in taken["offers"] if o["guarantor_org_id"])
    world.post(
        PLATFORM,
        "platform",
        f"/v1/applications/{taken['id']}/accept",
        {"offer_id": guaranteed["id"]},
    )
    pending = world.apply("b", amount="30000")
    engine = make_engine(matching_settings.database_url)
    try:
        with Session(engine) as session:
            pool = read_pool(session)
    finally:
        engine.dispose()
    [app] = pool.applications
    assert app.application_id == pending["id"] and app.group_id is not None
    assert {o.offer_id for o in app.options} == {o["id"] for o in pending["offers"]}
    assert pool.lenders[BANK].remaining_cny == Decimal(950000)
    assert pool.guarantors[GUARANTOR].remaining_cny == Decimal(10_000_000 - 40_000)
    exposure = pool.guarantor_exposure(GUARANTOR, app)
    assert exposure == cap.Exposure(Decimal(0), Decimal(40000), True)
    # 15% of 1,000,000 for the group, 40,000 already used by its other firm
    room = cap.guarantor_room_for_firm(pool.guarantors[GUARANTOR], exposure)
    assert room == Decimal(100000)
