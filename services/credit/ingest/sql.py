"""The little SQL dialect knowledge the raw-DBAPI ingest path needs (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from sqlalchemy.engine import Connection

T = TypeVar("T")
# Well under SQLite's bound-parameter limit, and a reasonable IN list for PostgreSQL.
IN_BATCH = 500


@dataclass(frozen=True)
class Dialect:
    """Placeholder style and driver exceptions of one backend."""

    postgres: bool
    mark: str
    integrity_errors: tuple[type[Exception], ...]

    def marks(self, n: int) -> str:
        """n comma-separated placeholders."""
        return ", ".join([self.mark] * n)


SQLITE = Dialect(False, "?", (sqlite3.IntegrityError,))
POSTGRES = Dialect(True, "%s", (psycopg.errors.IntegrityError,))


def dialect_of(conn: Connection) -> Dialect:
    """The dialect of a SQLAlchemy connection."""
    return POSTGRES if conn.dialect.name == "postgresql" else SQLITE


def in_batches(items: Sequence[T], size: int = IN_BATCH) -> Iterator[Sequence[T]]:
    """Slices of at most `size` items, for IN lists."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def fetch(cur: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run a query on a DBAPI cursor and return every row."""
    cur.execute(sql, params)
    return list(cur.fetchall())
