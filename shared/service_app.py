"""The common frame of every service app: middleware, problem handlers, health and metrics."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.responses import JSONResponse, Response

from shared.body_limit import BodyLimitMiddleware
from shared.db import ping
from shared.errors import ServiceUnavailable, install_error_handlers
from shared.logging import configure_logging
from shared.observability import ObservabilityMiddleware, metrics_endpoint
from shared.request_context import RequestIdMiddleware
from shared.settings import ServiceSettings


def create_service_app(
    *,
    service: str,
    settings: ServiceSettings,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    engine_getter: Callable[[], Engine | None] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A FastAPI app with request ids, JSON logs, RFC 9457 errors, /healthz, /readyz, /metrics."""
    configure_logging(service, settings.log_level, settings.log_json)
    app = FastAPI(title=f"smefin {service}", lifespan=lifespan, **fastapi_kwargs)
    app.state.settings = settings
    install_error_handlers(app)
    # Innermost: an oversized body is refused (and still counted and logged) before routing.
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, stream_paths=settings.stream_paths
    )
    # Outermost first: the request id must exist before the access log line is written.
    app.add_middleware(ObservabilityMiddleware, service=service)
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        """Alive: the process answers."""
        return JSONResponse({"status": "ok", "service": service})

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        """Ready: the process can reach its database."""
        engine = engine_getter() if engine_getter else None
        if engine is not None:
            try:
                ping(engine)
            except Exception as exc:
                raise ServiceUnavailable(f"database unreachable: {type(exc).__name__}") from exc
        return JSONResponse({"status": "ready", "service": service})

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    return app
