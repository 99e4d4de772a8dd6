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
        return resp.json()

    def require_firm(self, principal: Principal, firm_ref: str) -> None:
        """Raise 404 unless the platform has this firm (another platform's firm does not exist)."""
        try:
            resp = self._http.get(
                f"/v1/firms/{firm_ref}", headers=internal_headers(principal, self._secret)
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"credit service unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 404:
            raise NotFound(f"firm {firm_ref!r} not found")
        if resp.status_code >= 400:
            raise ServiceUnavailable(f"credit failed to find the firm ({resp.status_code})")

    def metrics(self, principal: Principal, firm_ref: str) -> dict[str, Any]:
        """Monthly metrics of a platform's firm, asked on the platform's behalf."""
        try:
            resp = self._http.get(
                f"/v1/firms/{firm_ref}/metrics", headers=internal_headers(principal, self._secret)
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"credit service unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 404:
            raise NotFound(f"firm {firm_ref!r} not found")
        if resp.status_code >= 400:
            raise ServiceUnavailable(f"credit failed to give metrics ({resp.status_code})")
        return resp.json()

    def post_outcome(self, payload: dict[str, Any]) -> None:
        """Send one loan outcome to credit (idempotent there on loan_id)."""
        try:
            resp = self._http.post(
                "/v1/outcomes",
                json=payload,
                headers=internal_headers(MATCHING_SERVICE_PRINCIPAL, self._secret),
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"credit service unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 500 or resp.status_code in (404, 405, 429):
            # 404/405: a credit that does not serve outcomes yet; keep the row and retry.
            raise ServiceUnavailable(f"credit did not take the outcome ({resp.status_code})")
        if resp.status_code >= 400 and resp.status_code != 409:
            raise OutcomeRejected(f"credit rejected the outcome: {resp.text[:200]}")

    def sales_statistics(
        self, principal: Principal, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Credit's monthly sales statistics (operators), asked on the operator's behalf."""
        try:
            resp = self._http.get(
                "/v1/statistics/sales",
                params=params,
                headers=internal_headers(principal, self._secret),
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"credit service unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise ServiceUnavailable("credit service failed to compute sales statistics")
        if resp.status_code >= 400:
            raise AppError(f"credit refused the statistics: {resp.text[:200]}", status=502)
        return resp.json()

    def put_monitored(self, platform_org_id: str, firm_ref: str, org_ids: list[str]) -> None:
        """Replace the set of orgs exposed to a firm (credit's early warning watches them)."""
        try:
            resp = self._http.put(
                f"/v1/monitored-firms/{platform_org_id}/{firm_ref}",
                json={"org_ids": org_ids},
                headers=internal_headers(MATCHING_SERVICE_PRINCIPAL, self._secret),
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"credit service unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 400:
            raise ServiceUnavailable(f"credit did not take the monitored set ({resp.status_code})")

    def close(self) -> None:
        """Release pooled connections (a client passed in belongs to its owner)."""
        if self._owns_http:
            self._http.close()
