"""Audit log: one append-only row per public request, written in batches off the hot path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.models import AuditEvent
from shared.db import utcnow, write_session
from shared.request_context import current_request_id

log = logging.getLogger("smefin.gateway.audit")
# Path parameters that name the resource a request is about, most specific first.
_RESOURCE_PARAMS = (
    "delivery_id",
    "offer_id",
    "application_id",
    "product_id",
    "endpoint_id",
    "key_id",
    "org_id",
    "version",
    "firm_ref",
)


class AuditWriter:
    """Collects audit rows in memory and inserts them every `flush_s` seconds in one statement."""

    def __init__(self, engine: Engine, flush_s: float) -> None:
        self.engine = engine
        self.flush_s = flush_s
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    def record(self, row: dict[str, Any]) -> None:
        """Queue one row (a list append: nothing on the request path waits for the database)."""
        self._pending.append(row)

    def start(self) -> None:
        """Start the background flusher."""
        self._task = asyncio.create_task(self._run(), name="audit-flush")

    async def stop(self) -> None:
        """Stop the flusher and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        """Write every queued row now."""
        rows, self._pending = self._pending, []
        if rows:
            await run_in_threadpool(self._insert, rows)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        with write_session(self.engine) as session:
            session.execute(insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]
            session.commit()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
            except Exception:
                # The rows are lost only if the database stays down; say so loudly.
                log.exception("audit flush failed")


class AuditMiddleware:
    """Pure ASGI: after each /v1 request, queue who (org, key), what (method, route, resource,
    status), when, and the request id. It also adds the RateLimit headers (one wrapper of
    `send` on the hot path instead of two)."""

    def __init__(self, app: ASGIApp, writer_getter: Any) -> None:
        self.app = app
        self.writer_getter = writer_getter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                # The RateLimit headers of the key's bucket go on every answer it got a token for.
                decision = scope.get("state", {}).get("ratelimit")
                if decision is not None and status[0] != 429:
                    message["headers"] = [*message.get("headers", []), *decision.raw_headers()]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            writer: AuditWriter | None = self.writer_getter()
            if writer is not None:
                principal = scope.get("state", {}).get("principal")
                params = scope.get("path_params") or {}
                resource = next((str(params[p]) for p in _RESOURCE_PARAMS if p in params), None)
                route = scope.get("route")
                writer.record(
                    {
                        "at": utcnow(),
                        "request_id": current_request_id() or "",
                        "org_id": getattr(principal, "org_id", None),
                        "key_id": getattr(principal, "key_id", None),
                        "method": scope["method"],
                        "route": getattr(route, "path", None) or "unmatched",
                        "resource_id": resource,
                        "status": status[0],
                        "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                    }
                )
