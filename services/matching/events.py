"""Referral and loan events: every state change is written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.matching.models import MatchingEvent, Referral
from shared.db import utcnow


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
    return event
