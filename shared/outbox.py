"""Transactional outbox toolkit: a service's domain events are rows written in its own transaction.

No table lives here (shared/ holds no tables): `outbox_table(metadata)` defines `outbox_event` on
a service's MetaData, so each service owns the table and its migration. `emit` inserts into the
caller's session, so an event commits or rolls back with the change it describes. The gateway
collects events from each service's `GET /v1/internal/events?after=<seq>` (`read_after`) and
serves them as `GET /v1/events` and webhooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.db import UTCDateTime, utcnow
from shared.domain_metrics import EVENTS_EMITTED
from shared.errors import Forbidden
from shared.internal_auth import PrincipalDep
from shared.request_context import current_request_id

OUTBOX_TABLE = "outbox_event"
# SQLite autoincrements only INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
_SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")


def outbox_table(metadata: MetaData) -> Table:
    """The `outbox_event` table on a service's MetaData (defined once per MetaData)."""
    existing = metadata.tables.get(OUTBOX_TABLE)
    if existing is not None:
        return existing
    table = Table(
        OUTBOX_TABLE,
        metadata,
        # The increasing sequence number is the gateway's collection cursor.
        Column("seq", _SEQ_TYPE, primary_key=True, autoincrement=True),
        Column("event_id", String(40), nullable=False, unique=True),
        Column("type", String(80), nullable=False),
        # Space-separated ids of every organisation that may see the event.
        Column("org_ids", Text, nullable=False),
        Column("data", Text, nullable=False),
        Column("request_id", String(128), nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
    )
    Index("ix_outbox_event_created_at", table.c.created_at)
    return table


# A metadata-free view of the same columns: `emit` works in any service's session without
# knowing which MetaData holds its table (several services share one process in tests).
_OUTBOX = sa_table(
    OUTBOX_TABLE,
    sa_column("seq", _SEQ_TYPE),
    sa_column("event_id", String()),
    sa_column("type", String()),
    sa_column("org_ids", Text()),
    sa_column("data", Text()),
    sa_column("request_id", String()),
    sa_column("created_at", UTCDateTime()),
)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def emit(session: Session, *, org_ids: list[str], type: str, data: dict[str, Any]) -> str:
    """Add a domain event to the caller's transaction; returns its id (`evt_...`).

    `org_ids` name every organisation entitled to see the event (for example the platform and
    the lender of a referral). `data` is JSON (Decimals become strings) and must carry no secret
    and no buyer reference.
    """
    owners = sorted({o for o in org_ids if o})
    if not owners:
        raise ValueError("an event needs at least one owning organisation")
    event_id = "evt_" + uuid.uuid4().hex
    session.execute(
        insert(_OUTBOX).values(
            event_id=event_id,
            type=type,
            org_ids=" ".join(owners),
            data=orjson.dumps(data, default=_json_default).decode(),
            request_id=current_request_id(),
            created_at=utcnow(),
        )
    )
    # Counted when written, not committed: a rolled-back change over-counts by its events.
    EVENTS_EMITTED.labels(type).inc()
    return event_id


def read_after(session: Session, after: int, limit: int) -> list[dict[str, Any]]:
    """Events with seq > after in seq order, as JSON-ready dicts (the internal events feed)."""
    rows = session.execute(
        select(_OUTBOX).where(_OUTBOX.c.seq > after).order_by(_OUTBOX.c.seq).limit(limit)
    ).mappings()
    return [
        {
            "seq": int(row["seq"]),
            "id": row["event_id"],
            "type": row["type"],
            "org_ids": row["org_ids"].split(),
            "data": orjson.loads(row["data"]),
            "request_id": row["request_id"],
            "created_at": row["created_at"].isoformat(),
        }
        for row in rows
    ]


def internal_events_router(engine_of: Callable[[Request], Engine]) -> APIRouter:
    """`GET /v1/internal/events?after=&limit=`: the outbox feed, for internal callers only."""
    router = APIRouter(prefix="/v1/internal", include_in_schema=False)

    @router.get("/events")
    def internal_events(
        request: Request,
        principal: PrincipalDep,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> dict[str, Any]:
        """Events after a sequence number, oldest first (the gateway's collector reads this)."""
        if principal.kind != "service":
            raise Forbidden("the events feed is for internal callers")
        with Session(engine_of(request)) as session:
            return {"items": read_after(session, after, limit)}

    return router
