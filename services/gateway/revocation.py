"""Revoked keys leave every replica's key cache at once.

With Redis, a revocation is published on a channel every replica subscribes to (immediate).
Without it (or as a safety net if a message is lost), each replica polls the key table for keys
revoked since its last look every `revocation_poll_s`. Either way a revoked key stops working on
every replica within that bound, far below the cache TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.gateway.models import ApiKey
from services.gateway.service import Authenticator
from shared.db import utcnow

log = logging.getLogger("smefin.gateway.revocation")


def revoked_since(engine: Engine, since: datetime) -> list[str]:
    """Ids of keys revoked at or after `since`."""
    with Session(engine) as session:
        return list(session.exec(select(ApiKey.id).where(col(ApiKey.revoked_at) >= since)))


class RevocationWatcher:
    """Background tasks that drop revoked keys from this replica's cache."""

    def __init__(
        self, engine: Engine, auth: Authenticator, poll_s: float, redis: Any, channel: str
    ) -> None:
        self.engine = engine
        self.auth = auth
        self.poll_s = poll_s
        self.redis = redis
        self.channel = channel
        self._tasks: list[asyncio.Task[None]] = []

    async def announce(self, key_id: str) -> None:
        """Tell every replica (this one included) that a key is revoked."""
        self.auth.forget(key_id)
        if self.redis is not None:
            await self.redis.publish(self.channel, key_id)

    def start(self) -> None:
        """Start polling (and listening, with Redis)."""
        self._tasks.append(asyncio.create_task(self._poll(), name="revocation-poll"))
        if self.redis is not None:
            self._tasks.append(asyncio.create_task(self._listen(), name="revocation-listen"))

    async def stop(self) -> None:
        """Stop the tasks."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll(self) -> None:
        # Overlap the windows a little: a revocation committed just before our read still shows.
        since = utcnow() - timedelta(seconds=5)
        while True:
            await asyncio.sleep(self.poll_s)
            now = utcnow()
            try:
                for key_id in await run_in_threadpool(revoked_since, self.engine, since):
                    self.auth.forget(key_id)
                since = now - timedelta(seconds=2)
            except Exception:
                log.exception("revocation poll failed")

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message["data"]
                        self.auth.forget(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("revocation channel lost; resubscribing")
                await asyncio.sleep(1)
