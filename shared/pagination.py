"""Cursor pagination: opaque cursors over a monotonically increasing key."""

from __future__ import annotations

import base64
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from shared.errors import AppError, field_error

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list: its items and the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_key: int | str) -> str:
    """Opaque cursor for the item after `last_key`."""
    return base64.urlsafe_b64encode(f"k:{last_key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor stands for; a 400 problem when it is not one of ours."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    if not raw.startswith("k:"):
        raise AppError(
            "cursor is not valid",
            errors=[field_error(("query", "cursor"), "not a cursor returned by this API")],
        )
    return raw[2:]


class PageParams(BaseModel):
    """Query parameters of a list: a cursor and a page size."""

    cursor: str | None = None
    limit: int = 50


def page_params(
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> PageParams:
    """FastAPI dependency reading cursor and limit."""
    return PageParams(cursor=cursor, limit=limit)


def make_page(items: list[T], limit: int, key_of: object) -> Page[T]:
    """Build a page from up to limit+1 fetched items (the extra one proves there is a next page)."""
    has_more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor(key_of(items[-1])) if has_more and items else None  # type: ignore[operator]
    return Page[T](items=items, next_cursor=next_cursor)
