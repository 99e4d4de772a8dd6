"""Gateway app: create_app and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.gateway import service
from services.gateway.api import include_forward_routes, router
from services.gateway.config import GatewaySettings, get_settings
from services.gateway.console.router import mount_console
from services.gateway.forwarder import Forwarder
from shared.db import make_engine
from shared.service_app import create_service_app

log = logging.getLogger("smefin.gateway")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The public gateway."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database_url)
        service.ensure_admin_org(app.state.engine)
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        if not admin_key:
            log.warning("SMEFIN_ADMIN_KEY is not set: no bootstrap admin key")
        app.state.authenticator = service.Authenticator(
            app.state.engine, admin_key, settings.key_cache_ttl_s
        )
        app.state.forwarder = Forwarder(settings)
        yield
        await app.state.forwarder.close()
        app.state.engine.dispose()

    app = create_service_app(
        service="gateway",
        settings=settings,
        lifespan=lifespan,
        engine_getter=lambda: getattr(app.state, "engine", None),
        description="smefin public API: firms, transactions, scores, products, applications.",
    )
    app.include_router(router)
    include_forward_routes(app)
    mount_console(app)
    return app
