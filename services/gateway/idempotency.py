"""Idempotency-Key on POST (draft-ietf-httpapi-idempotency-key-header), as pure ASGI middleware.

Same key + same request (method, path, body) within the TTL: the stored status and body are
replayed. Same key, other request: 422. A retry while the first is still running: 409. Keys are
scoped to the caller's organisation. Records live in the gateway database, or in Redis when
SMEFIN_REDIS_URL is set.

The streamed bulk upload is never buffered: its body is hashed while it streams through, and
the fingerprint is stored when the upload finishes. A retry of a finished upload is read (and
hashed) to the end without being forwarded, then replayed or refused with 422.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import orjson
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.deps import principal_of
from services.gateway.models import IdempotencyRecord
from shared.db import utcnow, write_session
from shared.errors import AppError, Conflict, Unprocessable, field_error, problem_response

log = logging.getLogger("smefin.gateway.idempotency")
HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
PURGE_EVERY = 500
# Response headers worth replaying.
_KEEP_HEADERS = ("content-type", "location", "retry-after")


@dataclass
class Stored:
    """What the store knows about a key."""

    state: str  # running | done
    fingerprint: str | None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class IdempotencyStore(Protocol):
    """Where records live."""

    async def begin(self, org_id: str, key: str, fingerprint: str | None) -> Stored | None:
        """Claim a key (None: claimed, go ahead) or return the record that holds it."""
        ...

    async def finish(self, org_id: str, key: str, record: Stored) -> None:
        """Store the final response."""
        ...

    async def release(self, org_id: str, key: str) -> None:
        """Forget a key (the request failed in a way a retry may fix)."""
        ...


class DatabaseIdempotencyStore:
    """Records in the gateway's database (expired ones are replaced on the next claim)."""

    def __init__(self, engine: Engine, ttl_s: int) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl_s)
        self._claims = 0

    async def begin(self, org_id: str, key: str, fingerprint: str | None) -> Stored | None:
        """Insert a running record unless a live one exists."""
        self._claims += 1
        if self._claims % PURGE_EVERY == 1:
            await run_in_threadpool(self._purge)
        return await run_in_threadpool(self._begin, org_id, key, fingerprint)

    def _purge(self) -> None:
        # Expired records are dead weight; sweep them now and then rather than on a timer.
        with write_session(self.engine) as session:
            session.execute(
                delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) <= utcnow())
            )
            session.commit()

    def _begin(self, org_id: str, key: str, fingerprint: str | None) -> Stored | None:
        now = utcnow()
        try:
            with write_session(self.engine) as session:
                row = session.get(IdempotencyRecord, (org_id, key))
                if row is not None and row.expires_at > now:
                    return Stored(
                        row.state,
                        row.fingerprint,
                        row.response_status,
                        dict(row.response_headers),
                        row.response_body or b"",
                    )
                if row is not None:
                    session.delete(row)
                    session.flush()
                session.add(
                    IdempotencyRecord(
                        org_id=org_id,
                        key=key,
                        fingerprint=fingerprint,
                        state="running",
                        expires_at=now + self.ttl,
                    )
                )
                session.commit()
                return None
        except IntegrityError:
            # Another replica claimed it between our read and insert: that one is running.
            return Stored("running", fingerprint)

    async def finish(self, org_id: str, key: str, record: Stored) -> None:
        """Store the response on the record."""
        await run_in_threadpool(self._finish, org_id, key, record)

    def _finish(self, org_id: str, key: str, record: Stored) -> None:
        with write_session(self.engine) as session:
            row = session.get(IdempotencyRecord, (org_id, key))
            if row is None:
                return
            row.state = "done"
            row.fingerprint = record.fingerprint
            row.response_status = record.status
            row.response_headers = record.headers
            row.response_body = record.body
            session.add(row)
            session.commit()

    async def release(self, org_id: str, key: str) -> None:
        """Delete the record."""
        await run_in_threadpool(self._release, org_id, key)

    def _release(self, org_id: str, key: str) -> None:
        with write_session(self.engine) as session:
            row = session.get(IdempotencyRecord, (org_id, key))
            if row is not None:
                session.delete(row)
                session.commit()


class RedisIdempotencyStore:
    """Records in Redis with a TTL, claimed with SET NX so replicas agree."""

    def __init__(self, redis: Any, prefix: str, ttl_s: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, org_id: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self.prefix}idem:{org_id}:{digest}"

    async def begin(self, org_id: str, key: str, fingerprint: str | None) -> Stored | None:
        """SET NX a running record, or read the one that is there."""
        name = self._key(org_id, key)
        claimed = await self.redis.set(
            name, orjson.dumps({"state": "running", "fp": fingerprint}), nx=True, ex=self.ttl_s
        )
        if claimed:
            return None
        raw = await self.redis.get(name)
        if raw is None:  # expired between the two calls
            return Stored("running", fingerprint)
        data = orjson.loads(raw)
        return Stored(
            data["state"],
            data.get("fp"),
            data.get("status"),
            data.get("headers", {}),
            bytes.fromhex(data.get("body", "")),
        )

    async def finish(self, org_id: str, key: str, record: Stored) -> None:
        """Overwrite with the final response, keeping the remaining TTL."""
        payload = {
            "state": "done",
            "fp": record.fingerprint,
            "status": record.status,
            "headers": record.headers,
            "body": record.body.hex(),
        }
        await self.redis.set(self._key(org_id, key), orjson.dumps(payload), xx=True, keepttl=True)

    async def release(self, org_id: str, key: str) -> None:
        """Delete the record."""
        await self.redis.delete(self._key(org_id, key))


def _problem(exc: AppError) -> Any:
    return problem_response(
        status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, errors=exc.errors
    )


class IdempotencyMiddleware:
    """Pure ASGI middleware applying the Idempotency-Key contract to every POST under /v1."""

    def __init__(self, app: ASGIApp, state_getter: Any, stream_paths: frozenset[str]) -> None:
        self.app = app
        self.state_getter = state_getter
        self.stream_paths = stream_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = next((v for k, v in scope["headers"] if k == HEADER), None)
        if raw_key is None or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            bad = AppError(
                "Idempotency-Key must be 1 to 255 characters",
                errors=[field_error(("header", "Idempotency-Key"), "1 to 255 characters")],
            )
            await _problem(bad)(scope, receive, send)
            return
        state = self.state_getter()
        token = _bearer(scope)
        if token is None:
            await self.app(scope, receive, send)  # the route answers 401
            return
        try:
            principal = await principal_of(state.authenticator, token)
        except AppError:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        store: IdempotencyStore = state.idempotency_store
        if scope["path"] in self.stream_paths:
            await self._streamed(scope, receive, send, store, principal.org_id, key)
        else:
            await self._buffered(scope, receive, send, store, principal.org_id, key)

    async def _buffered(
        self, scope: Scope, receive: Receive, send: Send, store: Any, org: str, key: str
    ) -> None:
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        digest = _start_hash(scope)
        digest.update(body)
        fingerprint = digest.hexdigest()
        held = await store.begin(org, key, fingerprint)
        if held is not None:
            await self._answer_held(scope, receive, send, held, fingerprint)
            return
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._run_and_store(scope, replay_body, send, store, org, key, lambda: fingerprint)

    async def _streamed(
        self, scope: Scope, receive: Receive, send: Send, store: Any, org: str, key: str
    ) -> None:
        digest = _start_hash(scope)
        held = await store.begin(org, key, None)
        if held is not None:
            if held.state == "running":
                await self._answer_held(scope, receive, send, held, None)
                return
            # Finished upload: read this retry to the end (hashing only), then compare.
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                digest.update(message.get("body", b""))
                more = message.get("more_body", False)
            await self._answer_held(scope, receive, send, held, digest.hexdigest())
            return

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                digest.update(message.get("body", b""))
            return message

        await self._run_and_store(
            scope, hashing_receive, send, store, org, key, lambda: digest.hexdigest()
        )

    async def _run_and_store(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        store: Any,
        org: str,
        key: str,
        fingerprint: Any,
    ) -> None:
        start: dict[str, Any] = {}
        body: list[bytes] = []
        size = 0
        limit = self.state_getter().settings.idempotency_max_body_bytes
        settled = False

        async def settle() -> None:
            nonlocal settled
            settled = True
            status = int(start.get("status", 500))
            # Only final answers are kept: a 5xx or 429 may succeed on retry.
            if status >= 500 or status == 429 or size > limit:
                await store.release(org, key)
                return
            headers = {
                k.decode(): v.decode("latin-1")
                for k, v in start.get("headers", [])
                if k.decode().lower() in _KEEP_HEADERS
            }
            await store.finish(
                org, key, Stored("done", fingerprint(), status, headers, b"".join(body))
            )

        async def capture(message: Message) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= limit:
                    body.append(chunk)
                if not message.get("more_body", False):
                    # Store before the client can see the end of the answer: a retry sent the
                    # moment this one completes must find the record done, not running.
                    await settle()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            if not settled:
                await store.release(org, key)
            raise
        if not settled:
            await settle()

    async def _answer_held(
        self, scope: Scope, receive: Receive, send: Send, held: Stored, fingerprint: str | None
    ) -> None:
        if held.state == "running":
            exc: AppError = Conflict(
                "a request with this Idempotency-Key is still being processed; retry later",
                headers={"Retry-After": "1"},
            )
            response = _problem(exc)
            response.headers["Retry-After"] = "1"
            await response(scope, receive, send)
            return
        if fingerprint is None or held.fingerprint != fingerprint:
            exc = Unprocessable(
                "this Idempotency-Key was used with a different request",
                errors=[
                    field_error(
                        ("header", "Idempotency-Key"),
                        "reused with another method, path or body; use a new key",
                    )
                ],
            )
            await _problem(exc)(scope, receive, send)
            return
        headers = [(k.encode(), v.encode("latin-1")) for k, v in held.headers.items()]
        headers.append((b"idempotency-replayed", b"true"))
        headers.append((b"content-length", str(len(held.body)).encode()))
        await send(
            {"type": "http.response.start", "status": held.status or 200, "headers": headers}
        )
        await send({"type": "http.response.body", "body": held.body})


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = value.decode("latin-1")
            if text.lower().startswith("bearer "):
                return text[7:].strip()
    return None


def _start_hash(scope: Scope) -> Any:
    digest = hashlib.sha256()
    digest.update(f"{scope['method']} {scope['path']}?".encode())
    digest.update(scope.get("query_string", b""))
    digest.update(b"\n")
    return digest
