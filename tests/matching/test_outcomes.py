"""Loan outcomes reach credit through an outbox: never lost while credit is down, sent once.

Credit's POST /v1/outcomes is being built in parallel, so the receiving end here is a tiny real
ASGI app implementing the agreed contract (service principal, fields, idempotent on loan_id).
The real credit app of the other tests does not serve the route yet: that is the "down" case.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import JSONResponse

from services.matching import outcomes
from services.matching.credit_client import CreditClient
from shared.db import make_engine, utcnow
from shared.internal_auth import PRINCIPAL_HEADER, verify_principal
from tests.conftest import TEST_SECRET
from tests.matching.conftest import BANK, PLATFORM, World

FIELDS = {"platform_org_id", "firm_ref", "loan_id", "application_date", "outcome", "observed_at"}


def outcome_receiver() -> tuple[FastAPI, dict[str, Any]]:
    """A minimal credit implementing POST /v1/outcomes as agreed; `state["up"]` switches it."""
    app = FastAPI()
    state: dict[str, Any] = {"up": True, "received": {}, "calls": 0}

    @app.post("/v1/outcomes")
    async def receive(request: Request) -> JSONResponse:
        state["calls"] += 1
        if not state["up"]:
            return JSONResponse({"detail": "down"}, status_code=503)
        principal = verify_principal(request.headers.get(PRINCIPAL_HEADER), TEST_SECRET)
        if principal.kind != "service":
            return JSONResponse({"detail": "service only"}, status_code=403)
        body = await request.json()
        if set(body) != FIELDS or body["outcome"] not in ("defaulted", "repaid"):
            return JSONResponse({"detail": "bad body"}, status_code=422)
        date.fromisoformat(body["application_date"])
        created = body["loan_id"] not in state["received"]
        state["received"].setdefault(body["loan_id"], body)
        return JSONResponse({"loan_id": body["loan_id"]}, status_code=201 if created else 200)

    return app, state


def test_outcome_survives_credit_downtime_and_is_sent_once(
    world: World, matching_settings: Any
) -> None:
    world.firm("f1")
    world.bank()
    world.loan_product()
    app = world.apply("f1")
    accepted = world.post(
        PLATFORM,
        "platform",
        f"/v1/applications/{app['id']}/accept",
        {"offer_id": app["offers"][0]["id"]},
    )
    rid = accepted["referral_id"]
    loan = world.post(BANK, "lender", f"/v1/referrals/{rid}/decision", {"decision": "approve"})[
        "loan_id"
    ]
    world.post(BANK, "lender", f"/v1/loans/{loan}/events", {"kind": "disbursed"})
    engine = make_engine(matching_settings.database_url)
    receiver, state = outcome_receiver()
    try:
        with TestClient(receiver) as http:
            # Credit goes down: the loan event still succeeds and its outcome waits in the outbox.
            state["up"] = False
            world.matching.app.state.credit = CreditClient(matching_settings, http=http)
            world.post(
                BANK,
                "lender",
                f"/v1/loans/{loan}/events",
                {"kind": "repaid", "occurred_at": "2026-11-01T00:00:00Z"},
            )
            assert outcomes.pending_count(engine) == 1 and state["calls"] == 1
            credit = CreditClient(matching_settings, http=http)
            later = utcnow() + timedelta(hours=1)
            assert outcomes.deliver_due(engine, credit, now=later) == 0
            assert outcomes.pending_count(engine) == 1 and state["calls"] == 2
            state["up"] = True
            assert outcomes.deliver_due(engine, credit, now=later + timedelta(hours=1)) == 1
            assert outcomes.pending_count(engine) == 0
            assert outcomes.deliver_due(engine, credit, now=later + timedelta(days=1)) == 0
            assert state["calls"] == 3
    finally:
        engine.dispose()
    sent = state["received"][loan]
    assert sent == {
        "platform_org_id": PLATFORM,
        "firm_ref": "f1",
        "loan_id": loan,
        "application_date": app["created_at"][:10],
        "outcome": "repaid",
        "observed_at": "2026-11-01T00:00:00+00:00",
    }
