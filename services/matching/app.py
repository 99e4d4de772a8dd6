"""Matching service app: create_app and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.matching.api import router
from services.matching.config import MatchingSettings, get_settings
from services.matching.credit_client import CreditClient
from shared.db import make_engine
from shared.outbox import internal_events_router
from shared.service_app import create_service_app


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    """The matching service."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database_url)
        if not hasattr(app.state, "credit"):
            app.state.credit = CreditClient(settings)
        yield
        app.state.credit.close()
        app.state.engine.dispose()

    app = create_service_app(
        service="matching",
        settings=settings,
        lifespan=lifespan,
        engine_getter=lambda: getattr(app.state, "engine", None),
    )
    app.include_router(router)
    app.include_router(internal_events_router(lambda request: request.app.state.engine))
    return app
