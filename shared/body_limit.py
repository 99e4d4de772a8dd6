"""Refuse request bodies over a size limit with 413, before any route buffers them in memory."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import field_error, problem_response


class BodyLimitMiddleware:
    """Pure ASGI middleware: a body over `max_bytes` gets a 413 problem response.

    A declared Content-Length is checked up front (the server reads no more than it declares);
    a chunked body is read up to the limit and replayed to the app. Streaming routes
    (`stream_paths`) are left to enforce their own, larger limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, stream_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.stream_paths = frozenset(stream_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.stream_paths:
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if declared is not None and declared.strip().isdigit() and not chunked:
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        total = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            status=413,
            code="payload-too-large",
            title="Payload too large",
            detail=f"request body over {self.max_bytes} bytes",
            instance=scope["path"],
            errors=[field_error(("header", "content-length"), f"at most {self.max_bytes} bytes")],
            # The rest of the body is not read, so the connection cannot be reused.
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
