"""Matching's client of the credit service: a firm snapshot, asked on the caller's behalf."""

from __future__ import annotations

from typing import Any

import httpx

from services.matching.config import MatchingSettings
from shared.errors import AppError, NotFound, ServiceUnavailable
from shared.http_client import internal_headers, make_client
from shared.internal_auth import Principal


class CreditClient:
    """Pooled HTTP client to credit; the platform's principal is re-signed for each call."""

    def __init__(
        self, settings: MatchingSettings, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._secret = settings.internal_secret.get_secret_value()
        timeout = httpx.Timeout(settings.credit_timeout_s, connect=1.0)
        self._http = make_client(settings.credit_url, timeout=timeout, transport=transport)

    def snapshot(self, principal: Principal, firm_ref: str) -> dict[str, Any]:
        """Profile, score and history facts of a platform's firm; 404 when it has no such firm."""
        try:
            resp = self._http.get(
                f"/v1/firms/{firm_ref}/snapshot", headers=internal_headers(principal, self._secret)
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"credit service unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 404:
            raise NotFound(f"firm {firm_ref!r} not found")
        if resp.status_code >= 500:
            raise ServiceUnavailable("credit service failed to score the firm")
        if resp.status_code >= 400:
            raise AppError(f"credit refused the snapshot: {resp.text[:200]}", status=502)
        return resp.json()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()
