"""Gateway app: create_app and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware

from services.gateway import service
from services.gateway.api import include_forward_routes, router
from services.gateway.api_hooks import router as hooks_router
from services.gateway.audit import AuditMiddleware, AuditWriter
from services.gateway.config import GatewaySettings, get_settings
from services.gateway.console.router import mount_console
from services.gateway.events import EventCollector
from services.gateway.forwarder import Forwarder
from services.gateway.idempotency import (
    DatabaseIdempotencyStore,
    IdempotencyMiddleware,
    RedisIdempotencyStore,
)
from services.gateway.openapi import install_openapi
from services.gateway.ratelimit import MemoryRateLimiter, RedisRateLimiter
from services.gateway.revocation import RevocationWatcher
from services.gateway.routes import FORWARD_ROUTES
from services.gateway.webhooks import WebhookDispatcher
from shared.db import make_engine
from shared.service_app import create_service_app

log = logging.getLogger("smefin.gateway")


def _redis(settings: GatewaySettings) -> Any:
    if not settings.redis_url:
        return None
    import redis.asyncio as aioredis

    return aioredis.from_url(settings.redis_url)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The public gateway."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.engine = make_engine(settings.database_url)
        service.ensure_admin_org(state.engine)
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        if not admin_key:
            log.warning("SMEFIN_ADMIN_KEY is not set: no bootstrap admin key")
        state.authenticator = service.Authenticator(
            state.engine, admin_key, settings.key_cache_ttl_s
        )
        redis = state.redis = _redis(settings)
        if redis is not None:
            state.rate_limiter = RedisRateLimiter(redis, settings.redis_prefix)
            state.idempotency_store = RedisIdempotencyStore(
                redis, settings.redis_prefix, settings.idempotency_ttl_s
            )
        else:
            state.rate_limiter = MemoryRateLimiter()
            state.idempotency_store = DatabaseIdempotencyStore(
                state.engine, settings.idempotency_ttl_s
            )
        state.forwarder = Forwarder(settings)
        state.audit = AuditWriter(state.engine, settings.audit_flush_s)
        state.revocations = RevocationWatcher(
            state.engine,
            state.authenticator,
            settings.revocation_poll_s,
            redis,
            settings.redis_prefix + "revoked",
        )
        state.collector = EventCollector(
            state.engine,
            dict(state.forwarder.upstreams),
            settings.internal_secret.get_secret_value(),
            settings.event_poll_s,
        )
        state.dispatcher = WebhookDispatcher(state.engine, settings)
        background = (state.audit, state.revocations, state.collector, state.dispatcher)
        for task in background:
            task.start()
        try:
            yield
        finally:
            for task in reversed(background):
                await task.stop()
            await state.forwarder.close()
            if redis is not None:
                await redis.aclose()
            state.engine.dispose()

    app = create_service_app(
        service="gateway",
        settings=settings,
        lifespan=lifespan,
        engine_getter=lambda: getattr(app.state, "engine", None),
        description="smefin public API: firms, transactions, scores, products, applications.",
    )
    # Innermost user middleware (inside request ids and metrics): audit sees every answer,
    # idempotency replays included.
    stream_paths = frozenset(r.path for r in FORWARD_ROUTES if r.stream)
    app.user_middleware.append(
        Middleware(AuditMiddleware, writer_getter=lambda: getattr(app.state, "audit", None))
    )
    app.user_middleware.append(
        Middleware(IdempotencyMiddleware, state_getter=lambda: app.state, stream_paths=stream_paths)
    )
    app.include_router(router)
    app.include_router(hooks_router)
    include_forward_routes(app)
    install_openapi(app)
    mount_console(app)
    return app
