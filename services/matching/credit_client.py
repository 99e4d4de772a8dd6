"""Matching's client of the credit service: a firm snapshot, asked on the caller's behalf."""

from __future__ import annotations

from typing import Any

import httpx

from services.matching.config import MatchingSettings
from shared.errors import AppError, NotFound, ServiceUnavailable
from shared.http_client import internal_headers, make_client
from shared.internal_auth import Principal

# Matching speaks to credit's internal routes as itself, not on a caller's behalf.
MATCHING_SERVICE_PRINCIPAL = Principal("matching", "service", frozenset())


class OutcomeRejected(AppError):
    """Credit refused an outcome (a 4xx other than a duplicate): kept in the outbox to inspect."""

    status, code, title = 502, "outcome-rejected", "Outcome rejected by credit"


class CreditClient:
    """Pooled HTTP client to credit; the platform's principal is re-signed for each call."""

    def __init__(
        self,
        settings: MatchingSettings,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._secret = settings.internal_secret.get_secret_value()
        timeout = httpx.Timeout(settings.credit_timeout_s, connect=1.0)
        # `http` lets tests pass an httpx-compatible client of an in-process credit app.
        self._owns_http = http is None
        self._http = http or make_client(settings.credit_url, timeout=timeout, transport=transport)

    def _call(
        self,
        method: str,
        path: str,
        principal: Principal,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        # One place for the transport: a credit that cannot be reached is a 503 to our caller.
        try:
            return self._http.request(
                method,
                path,
                json=json,
                params=params,
                headers=internal_headers(principal, self._secret),
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"credit service unreachable: {type(exc).__name__}") from exc

    def _read(
        self, path: str, principal: Principal, what: str, params: dict[str, str] | None = None
    ) -> Any:
        resp = self._call("GET", path, principal, params=params)
        if resp.status_code == 404:
            raise NotFound(f"{what} not found")
        if resp.status_code >= 500:
            raise ServiceUnavailable(f"credit service failed on {what}")
        if resp.status_code >= 400:
            raise AppError(f"credit refused {what}: {resp.text[:200]}", status=502)
        return resp.json()

    def snapshot(self, principal: Principal, firm_ref: str) -> dict[str, Any]:
        """Profile, score and history facts of a platform's firm; 404 when it has no such firm."""
        return self._read(f"/v1/firms/{firm_ref}/snapshot", principal, f"firm {firm_ref!r}")

    def require_firm(self, principal: Principal, firm_ref: str) -> None:
        """Raise 404 unless the platform has this firm (another platform's firm does not exist)."""
        self._read(f"/v1/firms/{firm_ref}", principal, f"firm {firm_ref!r}")

    def metrics(self, principal: Principal, firm_ref: str) -> dict[str, Any]:
        """Monthly metrics of a platform's firm, asked on the platform's behalf."""
        return self._read(f"/v1/firms/{firm_ref}/metrics", principal, f"firm {firm_ref!r}")

    def sales_statistics(
        self, principal: Principal, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Credit's monthly sales statistics (operators), asked on the operator's behalf."""
        return self._read("/v1/statistics/sales", principal, "sales statistics", params)

    def post_outcome(self, payload: dict[str, Any]) -> None:
        """Send one loan outcome to credit (idempotent there on loan_id)."""
        resp = self._call("POST", "/v1/outcomes", MATCHING_SERVICE_PRINCIPAL, json=payload)
        if resp.status_code >= 500 or resp.status_code in (404, 405, 429):
            # 404/405: a credit that does not serve outcomes yet; keep the row and retry.
            raise ServiceUnavailable(f"credit did not take the outcome ({resp.status_code})")
        if resp.status_code >= 400 and resp.status_code != 409:
            raise OutcomeRejected(f"credit rejected the outcome: {resp.text[:200]}")

    def put_monitored(self, platform_org_id: str, firm_ref: str, org_ids: list[str]) -> None:
        """Replace the set of orgs exposed to a firm (credit's early warning watches them)."""
        resp = self._call(
            "PUT",
            f"/v1/monitored-firms/{platform_org_id}/{firm_ref}",
            MATCHING_SERVICE_PRINCIPAL,
            json={"org_ids": org_ids},
        )
        if resp.status_code >= 400:
            raise ServiceUnavailable(f"credit did not take the monitored set ({resp.status_code})")

    def close(self) -> None:
        """Release pooled connections (a client passed in belongs to its owner)."""
        if self._owns_http:
            self._http.close()
