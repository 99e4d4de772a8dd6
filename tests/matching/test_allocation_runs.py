"""Allocation runs over HTTP: compute, report, apply atomically, go stale, discard."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from services.matching import capacity as cap
from services.matching import repository, repository_deals
from services.matching.models import CapacityReservation, Referral
from shared.db import make_engine
from tests.matching.conftest import BANK, GUARANTOR, PLATFORM, SLC, World, as_

ADMIN = as_("org_ops", "admin")
# Demand and limits (CNY) chosen so arrival order loses: the bank's budget (250k) is the binding
# limit, and the small loan company may lend at most 100k to one firm (10% of 1M net assets).
AMOUNTS = {"a": "100000", "b": "120000", "c": "80000", "d": "60000", "e": "150000"}


@pytest.fixture
def engine(matching_settings: Any) -> Iterator[Any]:
    """A direct engine on the matching database, to read the ledger."""
    eng = make_engine(matching_settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pool_world(world: World) -> dict[str, dict[str, Any]]:
    """Two lenders, a guarantor, three products, five pending applications in arrival order."""
    for ref in AMOUNTS:
        world.firm(ref)
    world.bank(budget="250000")
    world.put(
        SLC,
        "lender",
        "/v1/profile",
        {
            "lender_kind": "small_loan_company",
            "name": "slc",
            "net_assets_cny": "1000000",
            "lending_budget_cny": "150000",
        },
    )
    world.guarantor(net_assets="1000000")
    world.loan_product(name="bank")
    world.loan_product(org=SLC, name="slc", base_rate="0.09", upfront_fee_rate="0.01")
    world.guarantee_product()
    world.agreement()
    return {ref: world.apply(ref, amount=amount) for ref, amount in AMOUNTS.items()}


def _run(world: World, objective: str, **over: Any) -> dict[str, Any]:
    r = world.matching.post(
        "/v1/allocation-runs", json={"objective": objective} | over, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _ledger(engine: Any) -> tuple[list[CapacityReservation], list[Referral]]:
    with Session(engine) as session:
        reservations = list(session.exec(select(CapacityReservation)))
        referrals = list(session.exec(select(Referral)))
    return reservations, referrals


def _assert_no_limit_overdrawn(engine: Any, firms: list[str]) -> None:
    """Every lender and guarantor limit holds, per firm and in total (capacity.py's own rules)."""
    with Session(engine) as session:
        lenders = repository.all_lenders(session)
        guarantors = repository.all_guarantors(session)
        for ref in firms:
            lender_exp, guarantor_exp, in_group = repository_deals.exposures(session, PLATFORM, ref)
            empty = cap.Exposure(in_group=in_group)
            for org, profile in lenders.items():
                limits = cap.lender_limits(profile)
                assert limits.remaining_cny >= 0
                assert cap.lender_shortfalls(limits, lender_exp.get(org, empty), Decimal(0)) == []
            for org, profile in guarantors.items():
                g = cap.guarantor_limits(profile)
                assert g.remaining_cny >= 0
                assert cap.guarantor_shortfalls(g, guarantor_exp.get(org, empty), Decimal(0)) == []


@pytest.mark.parametrize("objective", ["financed_amount", "expected_surplus"])
def test_run_reports_and_applies_exactly_its_choice(
    world: World, pool_world: dict[str, dict[str, Any]], engine: Any, objective: str
) -> None:
    run = _run(world, objective)
    assert run["id"].startswith("run_") and run["status"] == "computed"
    assert run["objective"] == objective and run["applications_considered"] == 5
    value, bound, greedy = (
        Decimal(run[k]) for k in ("objective_value", "upper_bound", "greedy_value")
    )
    assert Decimal(0) < value <= bound and run["gap"] >= 0
    assert greedy <= value  # the solver keeps the baseline's choice if it cannot beat it
    chosen = {c["application_id"]: c for c in run["choices"]}
    left = {x["application_id"]: x for x in run["left_out"]}
    apps = {a["id"]: a for a in pool_world.values()}
    assert set(chosen) | set(left) == set(apps) and not set(chosen) & set(left)
    assert all(x["reason"] and x["detail"] for x in left.values())
    assert run["applications_financed"] == len(chosen) == run["firms_financed"]
    for app_id, c in chosen.items():
        offer = next(o for o in apps[app_id]["offers"] if o["id"] == c["offer_id"])
        assert (offer["loan_product_id"], offer["guarantee_product_id"]) == (
            c["loan_product_id"],
            c["guarantee_product_id"],
        )
        assert Decimal(c["amount"]) == Decimal(apps[app_id]["amount_cny"])
    if objective == "financed_amount":
        # Optimum: bank takes e (150k) + a (100k), the small lender c + d (140k of 150k): 390k,
        # where arrival order (a, b on the bank; c, d on the small lender) finances 360k.
        assert value == Decimal("390000.00") and greedy == Decimal("360000.00")
        assert left[pool_world["b"]["id"]]["reason"] == "lower_value_than_competing"
        assert run["proven_optimal"] is True
    assert world.matching.get(f"/v1/allocation-runs/{run['id']}", headers=ADMIN).json() == run

    applied = world.matching.post(f"/v1/allocation-runs/{run['id']}/apply", headers=ADMIN)
    assert applied.status_code == 200, applied.text
    assert applied.json()["status"] == "applied" and applied.json()["applied_at"]
    reservations, referrals = _ledger(engine)
    assert {r.offer_id for r in reservations} == {c["offer_id"] for c in chosen.values()}
    assert all(r.status == "reserved" for r in reservations)
    assert {r.offer_id for r in referrals} == {c["offer_id"] for c in chosen.values()}
    assert all(r.status == "referred" for r in referrals)
    for r in reservations:
        c = next(c for c in chosen.values() if c["offer_id"] == r.offer_id)
        assert r.lender_cny == Decimal(c["amount"])
        assert r.guarantee_cny == Decimal(c["guaranteed_exposure"])
    _assert_no_limit_overdrawn(engine, list(AMOUNTS))
    for app_id in chosen:
        got = world.matching.get(f"/v1/applications/{app_id}", headers=as_(PLATFORM, "platform"))
        assert got.json()["status"] == "accepted"

    again = world.matching.post(f"/v1/allocation-runs/{run['id']}/apply", headers=ADMIN)
    assert again.status_code == 409 and again.json()["type"].endswith("illegal-transition")
    assert len(_ledger(engine)[0]) == len(reservations)


def test_run_made_stale_by_an_acceptance_reserves_nothing(
    world: World, pool_world: dict[str, dict[str, Any]], engine: Any
) -> None:
    run = _run(world, "financed_amount")
    # Firm b takes the bank's offer on its own: 120k of the bank's 250k, which the run counted on.
    b = pool_world["b"]
    bank_offer = next(o for o in b["offers"] if o["lender_org_id"] == BANK)
    world.post(
        PLATFORM, "platform", f"/v1/applications/{b['id']}/accept", {"offer_id": bank_offer["id"]}
    )
    before = _ledger(engine)
    r = world.matching.post(f"/v1/allocation-runs/{run['id']}/apply", headers=ADMIN)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith("allocation-stale")
    assert any("lender budget org_bank" in x for x in problem["reasons"])
    after = _ledger(engine)
    assert [x.id for x in after[0]] == [x.id for x in before[0]]
    assert [x.id for x in after[1]] == [x.id for x in before[1]]
    got = world.matching.get(f"/v1/allocation-runs/{run['id']}", headers=ADMIN).json()
    assert got["status"] == "stale" and got["stale_reasons"] == problem["reasons"]
    with Session(engine) as session:
        assert cap.lender_limits(repository.all_lenders(session)[BANK]).used_cny == Decimal(120000)
    # A fresh run over what is left applies cleanly.
    fresh = _run(world, "financed_amount")
    assert pool_world["b"]["id"] not in {c["application_id"] for c in fresh["choices"]}
    ok = world.matching.post(f"/v1/allocation-runs/{fresh['id']}/apply", headers=ADMIN)
    assert ok.status_code == 200, ok.text
    _assert_no_limit_overdrawn(engine, list(AMOUNTS))


def test_discard_subset_and_access(
    world: World, pool_world: dict[str, dict[str, Any]], engine: Any
) -> None:
    subset = [pool_world["a"]["id"], pool_world["c"]["id"]]
    run = _run(world, "expected_surplus", application_ids=subset, time_limit_s=2)
    assert run["applications_considered"] == 2
    assert {c["application_id"] for c in run["choices"]} | {
        x["application_id"] for x in run["left_out"]
    } == set(subset)
    d = world.matching.post(f"/v1/allocation-runs/{run['id']}/discard", headers=ADMIN)
    assert d.status_code == 200 and d.json()["status"] == "discarded"
    r = world.matching.post(f"/v1/allocation-runs/{run['id']}/apply", headers=ADMIN)
    assert r.status_code == 409 and r.json()["type"].endswith("illegal-transition")
    assert (
        world.matching.post(f"/v1/allocation-runs/{run['id']}/discard", headers=ADMIN).status_code
        == 409
    )
    assert _ledger(engine) == ([], [])

    bad = world.matching.post(
        "/v1/allocation-runs",
        json={"objective": "financed_amount", "application_ids": ["app_nope"]},
        headers=ADMIN,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/application_ids/0"
    for body in ({"objective": "profit"}, {"objective": "financed_amount", "time_limit_s": 31}):
        assert (
            world.matching.post("/v1/allocation-runs", json=body, headers=ADMIN).status_code == 422
        )
    for org, kind in ((PLATFORM, "platform"), (BANK, "lender"), (GUARANTOR, "guarantor")):
        headers = as_(org, kind)
        assert (
            world.matching.post(
                "/v1/allocation-runs", json={"objective": "financed_amount"}, headers=headers
            ).status_code
            == 403
        )
        assert (
            world.matching.get(f"/v1/allocation-runs/{run['id']}", headers=headers).status_code
            == 403
        )
    assert world.matching.get("/v1/allocation-runs/run_nope", headers=ADMIN).status_code == 404


def test_run_stale_when_a_chosen_application_was_taken(
    world: World, pool_world: dict[str, dict[str, Any]], engine: Any
) -> None:
    run = _run(world, "expected_surplus")
    first = run["choices"][0]
    app = next(a for a in pool_world.values() if a["id"] == first["application_id"])
    other = next((o for o in app["offers"] if o["id"] != first["offer_id"]), app["offers"][0])
    world.post(
        PLATFORM, "platform", f"/v1/applications/{app['id']}/accept", {"offer_id": other["id"]}
    )
    before = _ledger(engine)
    r = world.matching.post(f"/v1/allocation-runs/{run['id']}/apply", headers=ADMIN)
    assert r.status_code == 409 and r.json()["type"].endswith("allocation-stale")
    assert f"{app['id']}: application is accepted" in r.json()["reasons"]
    after = _ledger(engine)
    assert [x.id for x in after[0]] == [x.id for x in before[0]] and len(after[0]) == 1
    assert (
        world.matching.post(f"/v1/allocation-runs/{run['id']}/discard", headers=ADMIN).json()[
            "status"
        ]
        == "discarded"
    )
