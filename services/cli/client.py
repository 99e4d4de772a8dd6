"""A small client of the public API, used by the demo loader, the upload command and tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import orjson


class ApiError(Exception):
    """A problem response from the API."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('detail', problem)}")
        self.status = status
        self.problem = problem


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class SmefinClient:
    """Calls the gateway with one API key."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 60.0) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )

    def __enter__(self) -> SmefinClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        """Send JSON, return decoded JSON; raise ApiError on a problem response."""
        headers = dict(kw.pop("headers", {}) or {})
        content = None
        if body is not None:
            content = orjson.dumps(body, default=_json_default)
            headers["content-type"] = "application/json"
        resp = self.http.request(method, path, content=content, headers=headers, **kw)
        data = resp.json() if resp.content else None
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, data or {})
        return data

    def create_org(self, name: str, kind: str) -> dict[str, Any]:
        """Operator: a new organisation."""
        return self.request("POST", "/v1/organizations", {"name": name, "kind": kind})

    def create_key(self, org_id: str, name: str = "") -> dict[str, Any]:
        """Operator: a key for an organisation (the token is in the answer)."""
        return self.request("POST", f"/v1/organizations/{org_id}/api-keys", {"name": name})

    def upload_stream(
        self, rows: Iterable[dict[str, Any]], *, batch_bytes: int = 1 << 20
    ) -> dict[str, Any]:
        """Stream rows as NDJSON to the bulk endpoint; return the ingest report."""

        def body() -> Iterator[bytes]:
            buf: list[bytes] = []
            size = 0
            for row in rows:
                line = orjson.dumps(row, default=_json_default) + b"\n"
                buf.append(line)
                size += len(line)
                if size >= batch_bytes:
                    yield b"".join(buf)
                    buf, size = [], 0
            if buf:
                yield b"".join(buf)

        resp = self.http.post(
            "/v1/transactions/bulk",
            content=body(),
            headers={"content-type": "application/x-ndjson"},
            timeout=httpx.Timeout(3600, connect=5.0),
        )
        data = resp.json()
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, data)
        return data
