"""Credit service app: create_app and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.credit import repository
from services.credit.api import router
from services.credit.batch_chunk import batch_pool
from services.credit.config import CreditSettings, get_settings
from services.credit.early_warning_api import router as early_warning_router
from services.credit.ingest import pool as ingest_pool
from services.credit.scoring import registry
from services.credit.scoring_api import router as scoring_router
from services.credit.statistics_api import router as statistics_router
from shared.db import make_engine
from shared.outbox import internal_events_router
from shared.service_app import create_service_app

# Every router of public /v1 routes: the gateway builds its OpenAPI document from these.
PUBLIC_ROUTERS = (router, scoring_router, statistics_router, early_warning_router)

log = logging.getLogger("smefin.credit")


def ensure_champion(app: FastAPI) -> None:
    """A new install trains its first model from generated histories so it can score at once."""
    settings: CreditSettings = app.state.settings
    with Session(app.state.engine) as session:
        champion = repository.champion_model(session)
    if champion is not None:
        try:
            registry.load(champion)
            return
        except Exception:  # an artifact lost or from an older code version cannot serve
            log.exception("champion %s cannot be loaded: training a new one", champion.version)
    log.info("no usable champion model: training the bootstrap model on generated histories")
    try:
        record = registry.train_bootstrap(app.state.engine, settings.model_dir)
    except IntegrityError:
        # Another replica registered the same deterministic model first.
        return
    log.info("bootstrap model %s is champion (auc %s)", record.version, record.metrics.get("auc"))


def create_app(settings: CreditSettings | None = None) -> FastAPI:
    """The credit service."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database_url)
        await run_in_threadpool(ensure_champion, app)
        if settings.prestart_workers:
            # In the background, once the model is loaded: readiness waits for neither pool.
            batch_pool.started(settings.batch_workers)
            ingest_pool.prestart(settings.ingest_workers)
        yield
        app.state.engine.dispose()

    app = create_service_app(
        service="credit",
        settings=settings,
        lifespan=lifespan,
        engine_getter=lambda: getattr(app.state, "engine", None),
    )
    for public_router in PUBLIC_ROUTERS:
        app.include_router(public_router)
    app.include_router(internal_events_router(lambda request: request.app.state.engine))
    return app
