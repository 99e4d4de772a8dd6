"""Loan outcomes to credit through an outbox: written with the loan event, sent until acknowledged.

Credit learns which firms defaulted or repaid (labels for its models), keyed by loan_id so a
resend is harmless. An outcome is never lost when credit is down: the row stays until credit
answers 2xx, and the upkeep loop retries with exponential backoff.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.matching import repository_deals
from services.matching.credit_client import CreditClient, OutcomeRejected
from services.matching.models import OutcomeOutbox, Referral
from shared.db import utcnow, write_session
from shared.errors import ServiceUnavailable

log = logging.getLogger("smefin.matching.outcomes")


def enqueue(session: Session, referral: Referral, outcome: str, observed_at: datetime) -> None:
    """Queue the outcome of a loan in the caller's transaction (credit's contract, verbatim)."""
    assert referral.loan_id is not None
    session.add(
        OutcomeOutbox(
            loan_id=referral.loan_id,
            payload={
                "platform_org_id": referral.platform_org_id,
                "firm_ref": referral.firm_ref,
                "loan_id": referral.loan_id,
                "application_date": referral.application_date.isoformat(),
                "outcome": outcome,
                "observed_at": observed_at.isoformat(),
            },
            next_attempt_at=utcnow(),
        )
    )


def _backoff(attempts: int, max_s: float) -> timedelta:
    return timedelta(seconds=min(2.0 ** min(attempts, 20), max_s))


def deliver_due(
    engine: Engine,
    credit: CreditClient,
    *,
    max_backoff_s: float = 300.0,
    limit: int = 100,
    now: datetime | None = None,
    loan_id: str | None = None,
) -> int:
    """Send every outcome due by `now` (or just one loan's) once; returns how many got through."""
    now = now or utcnow()
    with Session(engine) as session:
        rows = repository_deals.outbox_due(session, now, limit, loan_id=loan_id)
        due = [(row.id, row.payload) for row in rows]
    delivered = 0
    for row_id, payload in due:
        error: str | None = None
        try:
            credit.post_outcome(payload)
        except (ServiceUnavailable, OutcomeRejected) as exc:
            error = str(exc)[:300]
        with write_session(engine) as session:
            row = session.get(OutcomeOutbox, row_id)
            if row is None or row.delivered_at is not None:
                continue
            row.attempts += 1
            if error is None:
                row.delivered_at = utcnow()
                row.last_error = None
                delivered += 1
            else:
                row.last_error = error
                row.next_attempt_at = now + _backoff(row.attempts, max_backoff_s)
                log.warning(
                    "outcome of %s not delivered (attempt %d): %s", row.loan_id, row.attempts, error
                )
            session.add(row)
            session.commit()
    return delivered


def pending_count(engine: Engine) -> int:
    """How many outcomes have not reached credit yet."""
    with Session(engine) as session:
        return len(repository_deals.outbox_due(session, utcnow() + timedelta(days=3650), 10_000))
