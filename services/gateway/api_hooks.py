"""Gateway routes for events, webhook endpoints and deliveries, the audit log and org limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from services.gateway import hooks_service
from services.gateway.deps import AdminDep, AuditDep, EngineDep, EventsDep, WebhooksDep
from services.gateway.schemas import (
    AuditEventPublic,
    EventPublic,
    OrganizationLimitsIn,
    OrganizationPublic,
    RotateSecretIn,
    WebhookDeliveryPublic,
    WebhookEndpointIn,
    WebhookEndpointPublic,
    WebhookEndpointWithSecret,
)
from shared.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from shared.types import Rfc3339

router = APIRouter(prefix="/v1")
PageDep = Annotated[PageParams, Depends(page_params)]


def _int_cursor(page: PageParams) -> int:
    raw = decode_cursor(page.cursor)
    return int(raw) if raw and raw.isdigit() else 0


@router.get("/events", response_model=Page[EventPublic], tags=["events"])
async def list_events(
    principal: EventsDep,
    engine: EngineDep,
    page: PageDep,
    type: Annotated[str | None, Query(max_length=80)] = None,
) -> Page[EventPublic]:
    """The caller's organisation's events, oldest first; follow next_cursor for newer ones."""
    rows = await run_in_threadpool(
        hooks_service.list_events, engine, principal.org_id, _int_cursor(page), page.limit, type
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    # At the end the cursor still points past the last event, so a poller can resume from it.
    last = rows[-1][0] if rows else _int_cursor(page)
    cursor = encode_cursor(last) if (more or rows or page.cursor) else None
    return Page[EventPublic](items=[e for _, e in rows], next_cursor=cursor)


@router.post(
    "/webhook-endpoints",
    response_model=WebhookEndpointWithSecret,
    status_code=201,
    tags=["webhooks"],
)
def post_webhook_endpoint(
    body: WebhookEndpointIn, principal: WebhooksDep, engine: EngineDep, request: Request
) -> WebhookEndpointWithSecret:
    """Register an endpoint; its whsec_ secret is in this response only."""
    return hooks_service.create_endpoint(engine, request.app.state.settings, principal, body)


@router.get("/webhook-endpoints", response_model=Page[WebhookEndpointPublic], tags=["webhooks"])
def list_webhook_endpoints(
    principal: WebhooksDep, engine: EngineDep, page: PageDep
) -> Page[WebhookEndpointPublic]:
    """The caller's endpoints."""
    rows = hooks_service.list_endpoints(
        engine, principal, decode_cursor(page.cursor) or "", page.limit
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[WebhookEndpointPublic](
        items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointPublic, tags=["webhooks"]
)
def get_webhook_endpoint(
    endpoint_id: str, principal: WebhooksDep, engine: EngineDep
) -> WebhookEndpointPublic:
    """One of the caller's endpoints."""
    return hooks_service.get_endpoint(engine, principal, endpoint_id)


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204, tags=["webhooks"])
def delete_webhook_endpoint(
    endpoint_id: str, principal: WebhooksDep, engine: EngineDep
) -> Response:
    """Remove an endpoint."""
    hooks_service.delete_endpoint(engine, principal, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    tags=["webhooks"],
)
def rotate_webhook_secret(
    endpoint_id: str, body: RotateSecretIn, principal: WebhooksDep, engine: EngineDep
) -> WebhookEndpointWithSecret:
    """A new secret; both sign deliveries until the grace period ends."""
    return hooks_service.rotate_secret(engine, principal, endpoint_id, body.grace_period_s)


@router.post(
    "/webhook-endpoints/{endpoint_id}/enable",
    response_model=WebhookEndpointPublic,
    tags=["webhooks"],
)
def enable_webhook_endpoint(
    endpoint_id: str, principal: WebhooksDep, engine: EngineDep
) -> WebhookEndpointPublic:
    """Re-enable a disabled endpoint."""
    return hooks_service.enable_endpoint(engine, principal, endpoint_id)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[WebhookDeliveryPublic],
    tags=["webhooks"],
)
def list_webhook_deliveries(
    endpoint_id: str, principal: WebhooksDep, engine: EngineDep, page: PageDep
) -> Page[WebhookDeliveryPublic]:
    """The delivery log of an endpoint: every delivery and its attempts."""
    rows = hooks_service.list_deliveries(
        engine, principal, endpoint_id, _int_cursor(page), page.limit
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[WebhookDeliveryPublic](
        items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
    response_model=WebhookDeliveryPublic,
    status_code=202,
    tags=["webhooks"],
)
def replay_webhook_delivery(
    endpoint_id: str, delivery_id: int, principal: WebhooksDep, engine: EngineDep, request: Request
) -> WebhookDeliveryPublic:
    """Send a delivery's event again (same webhook-id, so receivers can deduplicate)."""
    out = hooks_service.replay_delivery(engine, principal, endpoint_id, delivery_id)
    request.app.state.dispatcher.wake.set()
    return out


@router.get("/audit-events", response_model=Page[AuditEventPublic], tags=["audit"])
def list_audit_events(
    _: AuditDep,
    engine: EngineDep,
    page: PageDep,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    key_id: Annotated[str | None, Query(max_length=32)] = None,
    method: Annotated[str | None, Query(max_length=8)] = None,
    route: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    since: Rfc3339 | None = None,
    until: Rfc3339 | None = None,
) -> Page[AuditEventPublic]:
    """The audit log with filters, oldest first (operators)."""
    rows = hooks_service.list_audit(
        engine,
        after=_int_cursor(page),
        limit=page.limit,
        org_id=org_id,
        key_id=key_id,
        method=method,
        route=route,
        status=status,
        since=since,
        until=until,
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[AuditEventPublic](
        items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None
    )


@router.put(
    "/organizations/{org_id}/limits", response_model=OrganizationPublic, tags=["organizations"]
)
def put_org_limits(
    org_id: str, body: OrganizationLimitsIn, _: AdminDep, engine: EngineDep, request: Request
) -> OrganizationPublic:
    """Set an organisation's own per-key rate limit (operators)."""
    out = hooks_service.set_limits(engine, org_id, body)
    request.app.state.authenticator.forget_all()
    return out
