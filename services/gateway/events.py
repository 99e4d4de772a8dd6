"""Collect domain events from every service's outbox into the gateway, one row per organisation.

Why the gateway pulls (GET /v1/internal/events?after=<seq> on each service) rather than the
services pushing: a service only has to commit its outbox row with its change; it needs no
knowledge of the gateway, of webhook endpoints or of retries, and a gateway that is down loses
nothing, it resumes from its stored cursor. Collection is idempotent on (organisation, event id),
so several gateway replicas may poll at once. Each new event row also creates the webhook
deliveries it owes, in the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

import aiohttp
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.gateway.models import EventCursor, GatewayEvent, WebhookDelivery, WebhookEndpoint
from shared.db import utcnow, write_session
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal

log = logging.getLogger("smefin.gateway.events")
GATEWAY_PRINCIPAL = Principal("gateway", "service", frozenset({"events:collect"}))
BATCH = 500


def store_events(engine: Engine, service: str, events: list[dict[str, Any]]) -> int:
    """Store a batch from one service, create webhook deliveries, advance the cursor."""
    if not events:
        return 0
    stored = 0
    with write_session(engine) as session:
        ids = [e["id"] for e in events]
        seen = {
            (org, eid)
            for org, eid in session.exec(
                select(GatewayEvent.org_id, GatewayEvent.event_id).where(
                    col(GatewayEvent.event_id).in_(ids)
                )
            )
        }
        owners = sorted({org for e in events for org in e["org_ids"]})
        endpoints: dict[str, list[WebhookEndpoint]] = {}
        for ep in session.exec(
            select(WebhookEndpoint).where(
                col(WebhookEndpoint.org_id).in_(owners), col(WebhookEndpoint.disabled_at).is_(None)
            )
        ):
            endpoints.setdefault(ep.org_id, []).append(ep)
        now = utcnow()
        for event in events:
            for org in event["org_ids"]:
                if (org, event["id"]) in seen:
                    continue
                row = GatewayEvent(
                    org_id=org,
                    event_id=event["id"],
                    type=event["type"],
                    source=service,
                    data=event["data"],
                    request_id=event.get("request_id"),
                    created_at=datetime.fromisoformat(event["created_at"]),
                )
                session.add(row)
                session.flush()
                stored += 1
                assert row.seq is not None
                for ep in endpoints.get(org, []):
                    if ep.event_types and event["type"] not in ep.event_types:
                        continue
                    session.add(
                        WebhookDelivery(
                            endpoint_id=ep.id,
                            org_id=org,
                            event_seq=row.seq,
                            event_id=event["id"],
                            event_type=event["type"],
                            next_attempt_at=now,
                        )
                    )
        cursor = session.get(EventCursor, service) or EventCursor(service=service)
        cursor.last_seq = max(cursor.last_seq, max(int(e["seq"]) for e in events))
        session.add(cursor)
        session.commit()
    return stored


def cursor_of(engine: Engine, service: str) -> int:
    """The last outbox sequence number collected from a service."""
    with Session(engine) as session:
        cursor = session.get(EventCursor, service)
        return cursor.last_seq if cursor else 0


class EventCollector:
    """Background task: poll each service's outbox feed and store what is new."""

    def __init__(
        self, engine: Engine, upstreams: dict[str, str], secret: str, poll_s: float
    ) -> None:
        self.engine = engine
        self.upstreams = upstreams
        self.secret = secret
        self.poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        """Start polling."""
        self._task = asyncio.create_task(self._run(), name="event-collector")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def collect_once(self) -> int:
        """One pass over every service; returns how many event rows were stored."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        total = 0
        for service, base in self.upstreams.items():
            while True:
                after = await run_in_threadpool(cursor_of, self.engine, service)
                headers = {PRINCIPAL_HEADER: sign_principal(GATEWAY_PRINCIPAL, self.secret)}
                url = f"{base}/v1/internal/events?after={after}&limit={BATCH}"
                try:
                    async with self._session.get(url, headers=headers) as resp:
                        if resp.status != 200:
                            log.warning("%s events feed answered %s", service, resp.status)
                            break
                        events = (await resp.json())["items"]
                except (TimeoutError, aiohttp.ClientError) as exc:
                    log.info("%s events feed unreachable: %s", service, type(exc).__name__)
                    break
                total += await run_in_threadpool(store_events, self.engine, service, events)
                if len(events) < BATCH:
                    break
        return total

    async def _run(self) -> None:
        while True:
            try:
                await self.collect_once()
            except Exception:
                log.exception("event collection failed")
            await asyncio.sleep(self.poll_s)
