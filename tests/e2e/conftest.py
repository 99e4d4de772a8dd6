"""End-to-end fixtures: the three services as real uvicorn processes on free ports."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from services.cli import stack as stack_mod
from tests.conftest import PG_ADMIN_URL, _pg_conninfo


@dataclass
class LiveStack:
    """A running stack and the secrets it was started with."""

    stack: stack_mod.Stack
    admin_key: str
    internal_secret: str
    log_dir: Path

    @property
    def gateway(self) -> str:
        """Gateway base URL."""
        return self.stack.url("gateway")


def stack_databases(tmp: Path) -> tuple[dict[str, str], list[str]]:
    """A fresh database per service: SQLite files, or PostgreSQL databases when asked."""
    if not PG_ADMIN_URL:
        return {s: f"sqlite:///{tmp / f'{s}.db'}" for s in stack_mod.SERVICES}, []
    names = {s: f"smefin_e2e_{s}_{uuid.uuid4().hex[:8]}" for s in stack_mod.SERVICES}
    with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    base = make_url(PG_ADMIN_URL)
    urls = {s: base.set(database=n).render_as_string(hide_password=False) for s, n in names.items()}
    return urls, list(names.values())


def drop_databases(names: list[str]) -> None:
    """Drop PostgreSQL databases made by stack_databases."""
    if names:
        with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[LiveStack]:
    """Migrated databases, then credit, matching and gateway started as processes."""
    tmp = tmp_path_factory.mktemp("stack")
    urls, pg_names = stack_databases(tmp)
    stack_mod.migrate_all(urls)
    admin_key = "smf_admin_" + secrets.token_urlsafe(24)
    internal_secret = secrets.token_urlsafe(32)
    env = dict(os.environ)
    env.update(
        SMEFIN_ENV="test",
        SMEFIN_ADMIN_KEY=admin_key,
        SMEFIN_INTERNAL_SECRET=internal_secret,
        SMEFIN_CREDIT_MODEL_DIR=str(model_dir),
        **{f"SMEFIN_{s.upper()}_DATABASE_URL": u for s, u in urls.items()},
    )
    log_dir = tmp / "logs"
    running = stack_mod.start_stack(env, log_dir=log_dir)
    try:
        yield LiveStack(running, admin_key, internal_secret, log_dir)
    finally:
        stack_mod.stop_stack(running)
        drop_databases(pg_names)
