"""HTTP clients for calls between services: pooled, keep-alive, bounded by timeouts."""

from __future__ import annotations

import httpx

from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.request_context import REQUEST_ID_HEADER, current_request_id

DEFAULT_TIMEOUT = httpx.Timeout(connect=1.0, read=5.0, write=5.0, pool=1.0)
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=50, keepalive_expiry=30
)


def internal_headers(principal: Principal, secret: str) -> dict[str, str]:
    """Headers of an internal call: the signed principal and the current request id."""
    headers = {PRINCIPAL_HEADER: sign_principal(principal, secret)}
    rid = current_request_id()
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    return headers


def make_client(
    base_url: str,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits = DEFAULT_LIMITS,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A pooled synchronous client for one service (used from worker threads)."""
    return httpx.Client(base_url=base_url, timeout=timeout, limits=limits, transport=transport)


def make_async_client(
    base_url: str,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits = DEFAULT_LIMITS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A pooled asynchronous client for one service."""
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, transport=transport)
