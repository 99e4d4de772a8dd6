"""Forward a public request to the owning service with the signed principal (aiohttp pool).

Why aiohttp and not httpx.AsyncClient (the trial: 0.06 of direct throughput with httpx, 0.43
with aiohttp). The connection pool was not the cause: on the same burst of 32 concurrent
requests both clients kept 32 upstream connections alive. The cause is client CPU per request:
`python -m services.cli.bench.proxy_client_probe` shows httpx spending an order of magnitude more
CPU per request than aiohttp (pure-Python HTTP/1.1 parsing in h11, anyio and httpcore pool
bookkeeping that grows with the number of requests in flight), while aiohttp parses with llhttp
in C. A proxy sharing two cores with the service is CPU-bound, so that CPU is throughput lost.
The rest of the hot path avoids the same trap: no FastAPI dependency solving (a raw route), no
thread hop or database read for a cached key, pure ASGI middleware only, and a principal
signature reused within the same second.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from starlette.requests import Request
from starlette.responses import Response

from services.gateway.breaker import CircuitBreaker
from services.gateway.config import GatewaySettings
from shared.errors import ServiceUnavailable
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.request_context import current_request_id

log = logging.getLogger("smefin.gateway.forward")
# Request headers a service may need; everything else (Authorization above all) stays here.
PASS_REQUEST_HEADERS = (b"content-type", b"content-encoding", b"accept", b"content-length")
PASS_RESPONSE_HEADERS = ("content-type", "retry-after", "location")
# Methods whose repetition cannot do harm: a request that may have reached the service is
# retried only for these. A refused connection never reached it, so any method may retry that.
SAFE_TO_RETRY = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Forwarder:
    """One keep-alive connection pool, overall deadline and circuit breaker per upstream."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.upstreams = {"credit": settings.credit_url, "matching": settings.matching_url}
        self.breakers = {
            name: CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s)
            for name in self.upstreams
        }
        self._secret = settings.internal_secret.get_secret_value()
        self._session: aiohttp.ClientSession | None = None
        self._signed: dict[Principal, tuple[int, str]] = {}

    def session(self) -> aiohttp.ClientSession:
        """The shared client session (created on first use, inside the event loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.settings.upstream_pool_size, keepalive_timeout=30, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def close(self) -> None:
        """Close pooled connections."""
        if self._session is not None:
            await self._session.close()

    def _principal_header(self, principal: Principal) -> str:
        # Signing is an HMAC over JSON: reuse a signature within the same second.
        now = int(time.time())
        cached = self._signed.get(principal)
        if cached is not None and cached[0] == now:
            return cached[1]
        value = sign_principal(principal, self._secret, now=now)
        if len(self._signed) > 10_000:
            self._signed.clear()
        self._signed[principal] = (now, value)
        return value

    async def forward(
        self, request: Request, service: str, principal: Principal, *, stream: bool = False
    ) -> Response:
        """Send the request on and relay the answer; an unreachable service is a 503 at once."""
        breaker = self.breakers[service]
        wait = breaker.retry_after_s()
        if wait is not None:
            raise ServiceUnavailable(
                f"the {service} service is unavailable; retry shortly", retry_after_s=wait
            )
        scope = request.scope
        url = self.upstreams[service] + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        headers = {
            name.decode(): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in PASS_REQUEST_HEADERS
        }
        headers[PRINCIPAL_HEADER] = self._principal_header(principal)
        rid = current_request_id()
        if rid:
            headers["x-request-id"] = rid
        method = scope["method"]
        budget = (
            self.settings.bulk_upstream_timeout_s if stream else self.settings.upstream_timeout_s
        )
        deadline = time.monotonic() + budget
        data: object
        if stream:
            # A declared Content-Length is kept, so the service can refuse an oversized body
            # (413) before storing any of it; without one the body goes on chunked.
            data = request.stream()
        else:
            data = await request.body()
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            timeout = aiohttp.ClientTimeout(
                total=max(0.05, remaining), connect=self.settings.upstream_connect_timeout_s
            )
            try:
                async with self.session().request(
                    method, url, data=data, headers=headers, timeout=timeout, allow_redirects=False
                ) as upstream:
                    body = await upstream.read()
                    out_headers = {
                        h: v
                        for h in PASS_RESPONSE_HEADERS
                        if (v := upstream.headers.get(h)) is not None
                    }
                breaker.success()
                return Response(body, status_code=upstream.status, headers=out_headers)
            except (TimeoutError, aiohttp.ClientError) as exc:
                never_sent = isinstance(exc, aiohttp.ClientConnectorError)
                retry = (
                    attempt == 1
                    and not stream
                    and (never_sent or (method in SAFE_TO_RETRY and _dropped(exc)))
                    and deadline - time.monotonic() > 0.1
                )
                if retry:
                    await asyncio.sleep(0.02)
                    continue
                breaker.failure()
                log.warning("%s unreachable: %s", service, type(exc).__name__)
                raise ServiceUnavailable(
                    f"the {service} service is unavailable; retry shortly", retry_after_s=1
                ) from exc


def _dropped(exc: BaseException) -> bool:
    """A pooled connection the service had closed (keep-alive race): worth one more try."""
    return isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
