"""Matching service app: create_app and its lifespan (with the upkeep loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from services.matching import outcomes, referrals
from services.matching.allocation_api import router as allocation_router
from services.matching.api import router
from services.matching.api_deals import router as deals_router
from services.matching.catalogue import CatalogueCache
from services.matching.config import MatchingSettings, get_settings
from services.matching.credit_client import CreditClient
from services.matching.portfolio_api import router as portfolio_router
from services.matching.statistics_api import router as statistics_router
from shared.db import make_engine
from shared.outbox import internal_events_router
from shared.service_app import create_service_app

# Every router of public /v1 routes: the gateway builds its OpenAPI document from these.
PUBLIC_ROUTERS = (router, deals_router, statistics_router, portfolio_router, allocation_router)

log = logging.getLogger("smefin.matching")


def upkeep_once(app: FastAPI) -> None:
    """Release expired reservations and resend undelivered outcomes."""
    settings: MatchingSettings = app.state.settings
    referrals.expire_reservations(app.state.engine)
    outcomes.deliver_due(
        app.state.engine, app.state.credit, max_backoff_s=settings.outcome_retry_max_s
    )


async def _upkeep_loop(app: FastAPI, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await run_in_threadpool(upkeep_once, app)
        except Exception:  # the loop must outlive one bad round; the next one retries
            log.exception("matching upkeep failed")


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    """The matching service."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database_url)
        app.state.catalogue = CatalogueCache(settings.catalogue_ttl_s)
        if not hasattr(app.state, "credit"):
            app.state.credit = CreditClient(settings)
        task = None
        if settings.upkeep_interval_s > 0:
            task = asyncio.create_task(_upkeep_loop(app, settings.upkeep_interval_s))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app.state.credit.close()
        app.state.engine.dispose()

    app = create_service_app(
        service="matching",
        settings=settings,
        lifespan=lifespan,
        engine_getter=lambda: getattr(app.state, "engine", None),
    )
    for public_router in PUBLIC_ROUTERS:
        app.include_router(public_router)
    app.include_router(internal_events_router(lambda request: request.app.state.engine))
    return app
