"""Gateway queries: organisations and keys."""

from __future__ import annotations

from sqlmodel import Session, col, select

from services.gateway.models import ApiKey, Organization


def get_org(session: Session, org_id: str) -> Organization | None:
    """An organisation by id."""
    return session.get(Organization, org_id)


def list_orgs(session: Session, after_id: str, limit: int) -> list[Organization]:
    """A page of organisations in id order."""
    return list(
        session.exec(
            select(Organization)
            .where(col(Organization.id) > after_id)
            .order_by(col(Organization.id))
            .limit(limit + 1)
        )
    )


def get_key(session: Session, key_id: str) -> ApiKey | None:
    """A key by id."""
    return session.get(ApiKey, key_id)


def list_keys(session: Session, org_id: str | None, after_id: str, limit: int) -> list[ApiKey]:
    """A page of keys, of one organisation or (operator) of all."""
    stmt = select(ApiKey).where(col(ApiKey.id) > after_id)
    if org_id is not None:
        stmt = stmt.where(ApiKey.org_id == org_id)
    return list(session.exec(stmt.order_by(col(ApiKey.id)).limit(limit + 1)))
