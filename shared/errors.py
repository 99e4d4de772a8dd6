"""One error model: AppError and its subclasses, rendered as RFC 9457 problem details."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.request_context import current_request_id

PROBLEM_BASE = "https://smefin.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("smefin.errors")


class AppError(Exception):
    """Base of every expected failure: `code` names the problem type, `errors` the fields."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}


class NotFound(AppError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class Unprocessable(AppError):
    status, code, title = 422, "validation-error", "Unprocessable content"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class ServiceUnavailable(AppError):
    status, code, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 1, **kw: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)}, **kw)


def field_error(loc: list[str | int] | tuple[str | int, ...], message: str) -> dict[str, Any]:
    """One field fault: where (dotted location and JSON pointer) and what."""
    parts = [str(p) for p in loc]
    body_parts = parts[1:] if parts and parts[0] in {"body", "query", "path", "header"} else parts
    return {
        "location": ".".join(parts),
        "pointer": "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in body_parts),
        "detail": message,
    }


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Render an RFC 9457 problem details response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    rid = current_request_id()
    if rid:
        body["request_id"] = rid
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


_HTTP_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Unprocessable content"),
    429: ("rate-limited", "Too many requests"),
    503: ("service-unavailable", "Service unavailable"),
}


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first['location']}: {first['detail']}{more}"


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of the app, expected or not, an RFC 9457 problem response."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return problem_response(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [field_error(e.get("loc", ()), e.get("msg", "invalid")) for e in exc.errors()]
        if not errors:
            errors = [field_error(("body",), "invalid request")]
        return problem_response(
            status=422,
            code="validation-error",
            title="Unprocessable content",
            detail=_validation_detail(errors),
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, title = _HTTP_TITLES.get(exc.status_code, ("http-error", "HTTP error"))
        return problem_response(
            status=exc.status_code,
            code=code,
            title=title,
            detail=str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> Response:
        # A database that is down, restarting or locked is a reason to retry, not a bug;
        # the pool's pre-ping reconnects by itself once it is back.
        log.warning("database unavailable on %s: %s", request.url.path, type(exc.orig).__name__)
        return problem_response(
            status=503,
            code="service-unavailable",
            title="Service unavailable",
            detail="the database is unavailable; retry shortly",
            instance=request.url.path,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            status=500,
            code="internal-error",
            title="Internal server error",
            detail="An unexpected error occurred; it has been logged with this request id.",
            instance=request.url.path,
        )
