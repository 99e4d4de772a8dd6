"""Consents: a firm's data reaches a lender or guarantor only under a recorded, live consent."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.matching import events, repository, repository_deals
from services.matching.credit_client import CreditClient
from services.matching.models import Consent
from services.matching.referrals import role_of, visible_referral
from services.matching.schemas_deals import ConsentIn, ConsentPublic, SharedFirmData
from shared.db import utcnow, write_session
from shared.errors import AppError, Forbidden, NotFound, field_error
from shared.internal_auth import Principal

# A lender or guarantor reviewing a referral reads the firm under this purpose.
REVIEW_PURPOSE = "financing_review"


def public(consent: Consent) -> ConsentPublic:
    """The public view of a consent."""
    return ConsentPublic.model_validate(consent, from_attributes=True)


def grant(
    engine: Engine, credit: CreditClient, principal: Principal, firm_ref: str, data: ConsentIn
) -> ConsentPublic:
    """Record the firm's consent for one lender or guarantor and purpose (idempotent)."""
    # Only the platform's own firm can consent: a firm it does not have is a 404, as in credit.
    credit.require_firm(principal, firm_ref)
    with write_session(engine) as session:
        if (
            repository.get_lender(session, data.grantee_org_id) is None
            and repository.get_guarantor(session, data.grantee_org_id) is None
        ):
            raise AppError(
                f"{data.grantee_org_id!r} is not a lender or guarantor known to matching",
                status=422,
                errors=[field_error(("body", "grantee_org_id"), "no lender or guarantor profile")],
            )
        existing = repository_deals.active_consent(
            session, principal.org_id, firm_ref, data.grantee_org_id, data.purpose
        )
        if existing is not None:
            return public(existing)
        consent = Consent(
            platform_org_id=principal.org_id,
            firm_ref=firm_ref,
            grantee_org_id=data.grantee_org_id,
            purpose=data.purpose,
            created_at=utcnow(),
        )
        session.add(consent)
        session.commit()
        return public(consent)


def revoke(engine: Engine, principal: Principal, firm_ref: str, consent_id: str) -> ConsentPublic:
    """Revoke a consent: from now on nothing more is shared under it."""
    with write_session(engine) as session:
        consent = session.get(Consent, consent_id)
        if (
            consent is None
            or consent.platform_org_id != principal.org_id
            or consent.firm_ref != firm_ref
        ):
            raise NotFound(f"consent {consent_id!r} not found")
        if consent.revoked_at is None:
            consent.revoked_at = utcnow()
            session.add(consent)
            session.commit()
        return public(consent)


def list_for_firm(
    engine: Engine, credit: CreditClient, principal: Principal, firm_ref: str
) -> list[ConsentPublic]:
    """Every consent of one of the caller's firms (404 for a firm the caller does not have)."""
    credit.require_firm(principal, firm_ref)
    with Session(engine) as session:
        return [
            public(c)
            for c in repository_deals.consents_of_firm(session, principal.org_id, firm_ref)
        ]


def shared_firm_data(
    engine: Engine, credit: CreditClient, principal: Principal, referral_id: str
) -> SharedFirmData:
    """The referred firm's score, reasons and metrics, for its lender or guarantor, under consent.

    Credit is asked on the platform's behalf (the platform owns the firm's data); the consent
    is checked on every call, so a revoked consent stops the very next request.
    """
    with Session(engine) as session:
        referral = visible_referral(session, principal, referral_id)
        if role_of(referral, principal) not in ("lender", "guarantor"):
            raise NotFound(f"referral {referral_id!r} not found")
        consent = repository_deals.active_consent(
            session, referral.platform_org_id, referral.firm_ref, principal.org_id, REVIEW_PURPOSE
        )
        if consent is None:
            raise Forbidden(
                f"no consent of firm {referral.firm_ref!r} lets you see its data "
                f"for {REVIEW_PURPOSE}",
                code="consent-required",
            )
        platform = Principal(referral.platform_org_id, "platform", frozenset({"firms:read"}))
        firm_ref, consent_id = referral.firm_ref, consent.id
    snapshot = credit.snapshot(platform, firm_ref)
    metrics = credit.metrics(platform, firm_ref)
    with write_session(engine) as session:
        found = repository_deals.get_referral(session, referral_id)
        assert found is not None
        events.record(session, "firm_data.shared", found, principal.org_id, consent_id=consent_id)
        session.commit()
    return SharedFirmData(
        referral_id=referral_id,
        firm_ref=firm_ref,
        consent_id=consent_id,
        snapshot=snapshot,
        metrics=metrics,
    )
