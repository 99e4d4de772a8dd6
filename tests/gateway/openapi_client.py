"""A client generated at run time from the gateway's OpenAPI document: operations by operationId,
path and query parameters checked against the document, and every answer validated against the
response schema the document declares for its status (so the document has to be honest)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator


class OperationError(AssertionError):
    """The document and the call do not agree."""


class DocumentClient:
    """Calls operations of an OpenAPI 3.1 document by operationId."""

    def __init__(self, doc: dict[str, Any], base_url: str, token: str) -> None:
        self.doc = doc
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        self.ops: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                self.ops[op["operationId"]] = (method.upper(), path, op)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def call(
        self,
        operation_id: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> tuple[int, Any]:
        """Call an operation; return (status, JSON body) after checking it against the document."""
        if operation_id not in self.ops:
            raise OperationError(f"no operation {operation_id!r} in the document")
        method, path, op = self.ops[operation_id]
        declared = {p["name"]: p for p in op.get("parameters", [])}
        query: dict[str, Any] = {}
        url = path
        for name in re.findall(r"{(\w+)}", path):
            if name not in params:
                raise OperationError(f"{operation_id} needs path parameter {name!r}")
            url = url.replace("{" + name + "}", str(params.pop(name)))
        for name, value in params.items():
            spec = declared.get(name)
            if spec is None or spec["in"] != "query":
                raise OperationError(f"{operation_id} declares no query parameter {name!r}")
            query[name] = value
        if body is not None and "requestBody" not in op:
            raise OperationError(f"{operation_id} declares no request body")
        response = self.http.request(method, url, json=body, params=query, headers=headers)
        status = str(response.status_code)
        responses = op["responses"]
        if status not in responses:
            raise OperationError(f"{operation_id} answered {status}, not declared: {response.text}")
        content = responses[status].get("content", {})
        media = response.headers.get("content-type", "").split(";")[0]
        data = response.json() if response.content else None
        if content:
            if media not in content:
                raise OperationError(f"{operation_id} {status} sent {media}, not declared")
            schema = content[media].get("schema")
            if schema is not None:
                # Embedding the components lets "#/components/..." references resolve.
                OAS31Validator({**schema, "components": self.doc["components"]}).validate(data)
        return response.status_code, data
