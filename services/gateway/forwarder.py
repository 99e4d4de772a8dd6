"""Forward a public request to the owning service with the signed principal (aiohttp pool)."""

from __future__ import annotations

import logging

import aiohttp
from starlette.requests import Request
from starlette.responses import Response

from services.gateway.config import GatewaySettings
from shared.errors import ServiceUnavailable
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.request_context import current_request_id

log = logging.getLogger("smefin.gateway.forward")
# Request headers a service may need; everything else (Authorization above all) stays here.
PASS_REQUEST_HEADERS = ("content-type", "content-encoding", "accept", "content-length")
PASS_RESPONSE_HEADERS = ("content-type", "retry-after", "location")


class Forwarder:
    """One keep-alive connection pool per upstream service.

    aiohttp rather than httpx: in a trial the httpx AsyncClient proxy reached 0.06 of direct
    throughput and aiohttp 0.43 on the same load (docs/benchmarks.md).
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.upstreams = {"credit": settings.credit_url, "matching": settings.matching_url}
        self._secret = settings.internal_secret.get_secret_value()
        self._session: aiohttp.ClientSession | None = None

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

    async def forward(
        self, request: Request, service: str, principal: Principal, *, stream: bool = False
    ) -> Response:
        """Send the request on and relay the answer; a service that cannot be reached is a 503."""
        base = self.upstreams[service]
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        url = base + raw_path.decode("latin-1")
        query = request.scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        headers = {h: v for h in PASS_REQUEST_HEADERS if (v := request.headers.get(h)) is not None}
        headers[PRINCIPAL_HEADER] = sign_principal(principal, self._secret)
        rid = current_request_id()
        if rid:
            headers["x-request-id"] = rid
        timeout = aiohttp.ClientTimeout(
            total=self.settings.bulk_upstream_timeout_s
            if stream
            else self.settings.upstream_timeout_s,
            connect=self.settings.upstream_connect_timeout_s,
        )
        if stream:
            # A declared Content-Length is kept, so the service can refuse an oversized body
            # (413) before storing any of it; without one the body goes on chunked.
            data: object = request.stream()
        else:
            data = await request.body()
        try:
            async with self.session().request(
                request.method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as upstream:
                body = await upstream.read()
                out_headers = {
                    h: v
                    for h in PASS_RESPONSE_HEADERS
                    if (v := upstream.headers.get(h)) is not None
                }
                return Response(body, status_code=upstream.status, headers=out_headers)
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            log.warning("%s unreachable: %s", service, type(exc).__name__)
            raise ServiceUnavailable(
                f"the {service} service is unavailable; retry shortly", retry_after_s=1
            ) from exc
