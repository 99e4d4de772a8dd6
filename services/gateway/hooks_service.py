"""Use cases for events, webhook endpoints, deliveries and the audit log (tenancy enforced here)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.gateway.config import GatewaySettings
from services.gateway.models import (
    AuditEvent,
    GatewayEvent,
    Organization,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from services.gateway.schemas import (
    AuditEventPublic,
    EventPublic,
    OrganizationLimitsIn,
    OrganizationPublic,
    WebhookAttemptPublic,
    WebhookDeliveryPublic,
    WebhookEndpointIn,
    WebhookEndpointPublic,
    WebhookEndpointWithSecret,
)
from services.gateway.webhooks import check_url, new_secret
from shared.db import utcnow, write_session
from shared.errors import NotFound
from shared.internal_auth import Principal


def list_events(
    engine: Engine, org_id: str, after: int, limit: int, type_: str | None
) -> list[tuple[int, EventPublic]]:
    """A page of the organisation's events, oldest first, after a sequence number."""
    with Session(engine) as session:
        stmt = select(GatewayEvent).where(
            GatewayEvent.org_id == org_id, col(GatewayEvent.seq) > after
        )
        if type_:
            stmt = stmt.where(GatewayEvent.type == type_)
        rows = session.exec(stmt.order_by(col(GatewayEvent.seq)).limit(limit + 1)).all()
        return [
            (
                r.seq or 0,
                EventPublic(
                    id=r.event_id,
                    type=r.type,
                    source=r.source,
                    data=r.data,
                    request_id=r.request_id,
                    created_at=r.created_at,
                ),
            )
            for r in rows
        ]


def _endpoint_public(ep: WebhookEndpoint) -> WebhookEndpointPublic:
    return WebhookEndpointPublic.model_validate(ep, from_attributes=True)


def _owned_endpoint(session: Session, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    ep = session.get(WebhookEndpoint, endpoint_id)
    if ep is None or ep.org_id != principal.org_id:
        raise NotFound(f"webhook endpoint {endpoint_id!r} not found")
    return ep


def create_endpoint(
    engine: Engine, settings: GatewaySettings, principal: Principal, data: WebhookEndpointIn
) -> WebhookEndpointWithSecret:
    """Register an endpoint after checking its URL is public (or allowed by the operator)."""
    check_url(data.url, settings)
    with write_session(engine) as session:
        ep = WebhookEndpoint(
            org_id=principal.org_id,
            url=data.url,
            description=data.description,
            event_types=sorted(set(data.event_types)),
            secret=new_secret(),
        )
        session.add(ep)
        session.commit()
        return WebhookEndpointWithSecret(**_endpoint_public(ep).model_dump(), secret=ep.secret)


def list_endpoints(
    engine: Engine, principal: Principal, after: str, limit: int
) -> list[WebhookEndpointPublic]:
    """A page of the caller's endpoints."""
    with Session(engine) as session:
        rows = session.exec(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == principal.org_id, col(WebhookEndpoint.id) > after)
            .order_by(col(WebhookEndpoint.id))
            .limit(limit + 1)
        ).all()
        return [_endpoint_public(r) for r in rows]


def get_endpoint(engine: Engine, principal: Principal, endpoint_id: str) -> WebhookEndpointPublic:
    """One of the caller's endpoints."""
    with Session(engine) as session:
        return _endpoint_public(_owned_endpoint(session, principal, endpoint_id))


def delete_endpoint(engine: Engine, principal: Principal, endpoint_id: str) -> None:
    """Remove an endpoint and its pending deliveries (the delivery log goes with it)."""
    with write_session(engine) as session:
        ep = _owned_endpoint(session, principal, endpoint_id)
        for d in session.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id)):
            for a in session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id)):
                session.delete(a)
            session.delete(d)
        session.flush()
        session.delete(ep)
        session.commit()


def rotate_secret(
    engine: Engine, principal: Principal, endpoint_id: str, grace_period_s: int
) -> WebhookEndpointWithSecret:
    """A new secret; the old one keeps signing (a second signature) for the grace period."""
    with write_session(engine) as session:
        ep = _owned_endpoint(session, principal, endpoint_id)
        ep.previous_secret = ep.secret
        ep.previous_secret_expires_at = utcnow() + timedelta(seconds=grace_period_s)
        ep.secret = new_secret()
        session.add(ep)
        session.commit()
        return WebhookEndpointWithSecret(**_endpoint_public(ep).model_dump(), secret=ep.secret)


def enable_endpoint(
    engine: Engine, principal: Principal, endpoint_id: str
) -> WebhookEndpointPublic:
    """Re-enable an endpoint that was disabled (after a 410, for example)."""
    with write_session(engine) as session:
        ep = _owned_endpoint(session, principal, endpoint_id)
        ep.disabled_at = None
        ep.disabled_reason = None
        session.add(ep)
        session.commit()
        return _endpoint_public(ep)


def _delivery_public(session: Session, d: WebhookDelivery) -> WebhookDeliveryPublic:
    attempts = session.exec(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == d.id)
        .order_by(col(WebhookAttempt.id))
    ).all()
    out = WebhookDeliveryPublic.model_validate(d, from_attributes=True)
    out.attempt_log = [
        WebhookAttemptPublic.model_validate(a, from_attributes=True) for a in attempts
    ]
    return out


def list_deliveries(
    engine: Engine, principal: Principal, endpoint_id: str, after: int, limit: int
) -> list[WebhookDeliveryPublic]:
    """A page of an endpoint's deliveries with their attempt log, oldest first."""
    with Session(engine) as session:
        _owned_endpoint(session, principal, endpoint_id)
        rows = session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id, col(WebhookDelivery.id) > after)
            .order_by(col(WebhookDelivery.id))
            .limit(limit + 1)
        ).all()
        return [_delivery_public(session, d) for d in rows]


def replay_delivery(
    engine: Engine, principal: Principal, endpoint_id: str, delivery_id: int
) -> WebhookDeliveryPublic:
    """Send an event again: a new delivery of the same event (same webhook-id) to the endpoint."""
    with write_session(engine) as session:
        ep = _owned_endpoint(session, principal, endpoint_id)
        old = session.get(WebhookDelivery, delivery_id)
        if old is None or old.endpoint_id != ep.id:
            raise NotFound(f"delivery {delivery_id} not found")
        new = WebhookDelivery(
            endpoint_id=ep.id,
            org_id=ep.org_id,
            event_seq=old.event_seq,
            event_id=old.event_id,
            event_type=old.event_type,
            next_attempt_at=utcnow(),
        )
        session.add(new)
        session.commit()
        return _delivery_public(session, new)


def list_audit(
    engine: Engine,
    *,
    after: int,
    limit: int,
    org_id: str | None,
    key_id: str | None,
    method: str | None,
    route: str | None,
    status: int | None,
    since: datetime | None,
    until: datetime | None,
) -> list[AuditEventPublic]:
    """A filtered page of the audit log, oldest first (operators)."""
    stmt = select(AuditEvent).where(col(AuditEvent.id) > after)
    if org_id:
        stmt = stmt.where(AuditEvent.org_id == org_id)
    if key_id:
        stmt = stmt.where(AuditEvent.key_id == key_id)
    if method:
        stmt = stmt.where(AuditEvent.method == method.upper())
    if route:
        stmt = stmt.where(AuditEvent.route == route)
    if status is not None:
        stmt = stmt.where(AuditEvent.status == status)
    if since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEvent.at) < until)
    with Session(engine) as session:
        rows = session.exec(stmt.order_by(col(AuditEvent.id)).limit(limit + 1)).all()
        return [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]


def set_limits(engine: Engine, org_id: str, data: OrganizationLimitsIn) -> OrganizationPublic:
    """Set an organisation's own rate limit (operators)."""
    with write_session(engine) as session:
        org = session.get(Organization, org_id)
        if org is None:
            raise NotFound(f"organization {org_id!r} not found")
        org.rate_limit_per_s = data.rate_limit_per_s
        org.rate_limit_burst = data.rate_limit_burst
        session.add(org)
        session.commit()
        return OrganizationPublic.model_validate(org, from_attributes=True)
