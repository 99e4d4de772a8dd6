"""Referral and loan events: every state change is written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.matching.models import MatchingEvent, Referral
from shared.db import utcnow
from shared.outbox import emit


def record(
    session: Session, kind: str, referral: Referral, actor_org_id: str, **payload: Any
) -> MatchingEvent:
    """Add an event about a referral (kind like "referral.approved"); committed by the caller."""
    event = MatchingEvent(
        kind=kind,
        referral_id=referral.id,
        actor_org_id=actor_org_id,
        payload={"status": referral.status, **payload},
        created_at=utcnow(),
    )
    session.add(event)
    # The same fact, for every organisation party to the deal, through the outbox (webhooks).
    parties = [referral.platform_org_id, referral.lender_org_id, referral.guarantor_org_id]
    emit(
        session,
        org_ids=[org for org in dict.fromkeys(parties) if org],
        type=kind,
        data={
            "referral_id": referral.id,
            "application_id": referral.application_id,
            "firm_ref": referral.firm_ref,
            "status": referral.status,
            "actor_org_id": actor_org_id,
            **payload,
        },
    )
    return event
