"""Consent: a lender sees a referred firm's metrics, score and reasons only while consent holds."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.matching.conftest import BANK, PLATFORM, World, as_


def test_firm_data_only_under_consent(world: World) -> None:
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
    m: TestClient = world.matching
    lender = as_(BANK, "lender")

    refused = m.get(f"/v1/referrals/{rid}/firm-data", headers=lender)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/consent-required")

    # a consent for another purpose or another lender does not count
    world.bank(org="org_other")
    world.post(
        PLATFORM,
        "platform",
        "/v1/firms/f1/consents",
        {"grantee_org_id": BANK, "purpose": "loan_monitoring"},
    )
    world.post(PLATFORM, "platform", "/v1/firms/f1/consents", {"grantee_org_id": "org_other"})
    assert m.get(f"/v1/referrals/{rid}/firm-data", headers=lender).status_code == 403

    consent = world.post(PLATFORM, "platform", "/v1/firms/f1/consents", {"grantee_org_id": BANK})
    shared = m.get(f"/v1/referrals/{rid}/firm-data", headers=lender)
    assert shared.status_code == 200, shared.text
    body = shared.json()
    assert body["consent_id"] == consent["id"]
    assert body["snapshot"]["score"]["pd_12m"] > 0
    assert "reasons" in body["snapshot"]["score"]
    assert body["metrics"]
    # another lender never sees this referral at all
    assert (
        m.get(f"/v1/referrals/{rid}/firm-data", headers=as_("org_other", "lender")).status_code
        == 404
    )

    revoked = m.delete(f"/v1/firms/f1/consents/{consent['id']}", headers=as_(PLATFORM, "platform"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert m.get(f"/v1/referrals/{rid}/firm-data", headers=lender).status_code == 403
    listed = m.get("/v1/firms/f1/consents", headers=as_(PLATFORM, "platform")).json()
    assert len(listed) == 3
    kinds = [e["kind"] for e in m.get(f"/v1/referrals/{rid}/events", headers=lender).json()]
    assert kinds.count("firm_data.shared") == 1


def test_consent_needs_a_known_grantee_and_its_own_platform(world: World) -> None:
    world.firm("f1")
    r = world.matching.post(
        "/v1/firms/f1/consents",
        json={"grantee_org_id": "org_nobody"},
        headers=as_(PLATFORM, "platform"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/grantee_org_id"
    world.bank()
    consent = world.post(PLATFORM, "platform", "/v1/firms/f1/consents", {"grantee_org_id": BANK})
    other = world.matching.delete(
        f"/v1/firms/f1/consents/{consent['id']}", headers=as_("org_p2", "platform")
    )
    assert other.status_code == 404
    # Another platform has no firm f1: recording or listing its consents is a 404, not an empty
    # list or a consent of a firm nobody has.
    for method, body in (("GET", None), ("POST", {"grantee_org_id": BANK})):
        r = world.matching.request(
            method, "/v1/firms/f1/consents", json=body, headers=as_("org_p2", "platform")
        )
        assert r.status_code == 404, r.text
    mine = world.matching.get("/v1/firms/f1/consents", headers=as_(PLATFORM, "platform"))
    assert [c["id"] for c in mine.json()] == [consent["id"]]
