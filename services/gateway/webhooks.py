"""Webhooks: Standard Webhooks 1.0 signatures, URL safety, and the delivery worker."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import random
import secrets
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
import orjson
from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.gateway.config import GatewaySettings
from services.gateway.models import GatewayEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.db import utcnow, write_session
from shared.errors import Unprocessable, field_error

log = logging.getLogger("smefin.gateway.webhooks")
WEBHOOKS = Counter(
    "smefin_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"]
)
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
CLAIM_BATCH = 50
# A claimed delivery is not picked again by another replica for this long.
LEASE = timedelta(seconds=60)


def new_secret() -> str:
    """A whsec_ secret: 24 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64 HMAC-SHA256 of id.timestamp.body>` signature (Standard Webhooks 1.0)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per live secret (several during rotation)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def check_url(url: str, settings: GatewaySettings) -> None:
    """Refuse a webhook URL that is not http(s) or resolves to a private or loopback address."""
    parts = urlsplit(url)
    where = ("body", "url")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Unprocessable(
            "webhook url must be an absolute http or https URL",
            errors=[field_error(where, "http(s)://host/...")],
        )
    host = parts.hostname
    if settings.webhook_allow_private or host in settings.webhook_allowed_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        raise Unprocessable(
            f"webhook host {host!r} does not resolve",
            errors=[field_error(where, "host does not resolve")],
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise Unprocessable(
                f"webhook url resolves to a non-public address ({address})",
                errors=[field_error(where, "private, loopback and link-local are refused")],
            )


def _backoff(attempts: int, schedule: list[float]) -> timedelta | None:
    """Wait before the next attempt, +-20% jitter; None when the schedule is used up."""
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def _claim(engine: Engine) -> list[tuple[WebhookDelivery, WebhookEndpoint, GatewayEvent]]:
    now = utcnow()
    # Look before taking the write lock (on SQLite a write transaction locks the database).
    with Session(engine) as session:
        due = session.exec(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", col(WebhookDelivery.next_attempt_at) <= now)
            .limit(1)
        ).first()
    if due is None:
        return []
    with write_session(engine) as session:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", col(WebhookDelivery.next_attempt_at) <= now)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(CLAIM_BATCH)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        deliveries = list(session.exec(stmt))
        out = []
        for d in deliveries:
            d.next_attempt_at = now + LEASE
            session.add(d)
            endpoint = session.get(WebhookEndpoint, d.endpoint_id)
            event = session.get(GatewayEvent, d.event_seq)
            if endpoint is not None and event is not None:
                out.append((d, endpoint, event))
        session.commit()
        return out


def _record(
    engine: Engine,
    delivery_id: int,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    schedule: list[float],
) -> str:
    now = utcnow()
    with write_session(engine) as session:
        d = session.get(WebhookDelivery, delivery_id)
        if d is None:
            return "gone"
        d.attempts += 1
        d.last_status_code = status_code
        d.last_error = error[:300] if error else None
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                at=now,
                status_code=status_code,
                error=d.last_error,
                duration_ms=duration_ms,
            )
        )
        if status_code is not None and 200 <= status_code < 300:
            d.status, d.completed_at, d.next_attempt_at = "succeeded", now, None
        elif status_code == 410:
            # The receiver says the endpoint is gone for good: stop sending to it.
            d.status, d.completed_at, d.next_attempt_at = "failed", now, None
            endpoint = session.get(WebhookEndpoint, d.endpoint_id)
            if endpoint is not None and endpoint.disabled_at is None:
                endpoint.disabled_at = now
                endpoint.disabled_reason = "receiver answered 410 Gone"
                session.add(endpoint)
        else:
            wait = _backoff(d.attempts, schedule)
            if wait is None:
                d.status, d.completed_at, d.next_attempt_at = "failed", now, None
            else:
                d.next_attempt_at = now + wait
        session.add(d)
        session.commit()
        return d.status


def payload_of(event: GatewayEvent) -> bytes:
    """The JSON body of a delivery: the event as GET /v1/events lists it."""
    return orjson.dumps(
        {
            "id": event.event_id,
            "type": event.type,
            "timestamp": event.created_at.isoformat(),
            "data": event.data,
        }
    )


def live_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, plus the previous one while its rotation grace period lasts."""
    out = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > utcnow()
    ):
        out.append(endpoint.previous_secret)
    return out


class WebhookDispatcher:
    """Background task: claim due deliveries and POST them, signed, at least once."""

    def __init__(self, engine: Engine, settings: GatewaySettings) -> None:
        self.engine = engine
        self.settings = settings
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.wake = asyncio.Event()

    def start(self) -> None:
        """Start the worker."""
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop the worker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def dispatch_once(self) -> int:
        """Send every due delivery once; returns how many were attempted."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s)
            )
        batch = await run_in_threadpool(_claim, self.engine)
        await asyncio.gather(*(self._send(d, ep, ev) for d, ep, ev in batch))
        return len(batch)

    async def _send(
        self, delivery: WebhookDelivery, endpoint: WebhookEndpoint, event: GatewayEvent
    ) -> None:
        assert self._session is not None and delivery.id is not None
        body = payload_of(event)
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": event.event_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": signature_header(live_secrets(endpoint), event.event_id, ts, body),
        }
        status: int | None = None
        error: str | None = None
        start = time.perf_counter()
        try:
            if endpoint.disabled_at is not None:
                raise ValueError(f"endpoint disabled: {endpoint.disabled_reason}")
            await run_in_threadpool(check_url, endpoint.url, self.settings)
            async with self._session.post(
                endpoint.url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                status = resp.status
                await resp.read()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        elapsed = round((time.perf_counter() - start) * 1000, 2)
        outcome = await run_in_threadpool(
            _record,
            self.engine,
            delivery.id,
            status,
            error,
            elapsed,
            self.settings.webhook_retry_schedule_s,
        )
        WEBHOOKS.labels("delivered" if outcome == "succeeded" else "failed").inc()

    async def _run(self) -> None:
        while True:
            try:
                await self.dispatch_once()
            except Exception:
                log.exception("webhook dispatch failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.webhook_poll_s)
            self.wake.clear()
