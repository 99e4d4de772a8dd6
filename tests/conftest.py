"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when asked), apps, principals.

SMEFIN_TEST_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/postgres runs the same suite
on PostgreSQL: each test gets its own databases, created and dropped here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from services.cli.stack import MIGRATIONS
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.migrations import upgrade_to_head

TEST_SECRET = "test-internal-secret"
PG_ADMIN_URL = os.environ.get("SMEFIN_TEST_DATABASE_URL", "")
# Credit apps in-process and the service processes the tests start (they inherit this
# environment) start their worker pools on first use: dozens of boots would otherwise each
# start idle workers on a small machine. tests/credit/test_worker_prestart.py boots with it on.
os.environ.setdefault("SMEFIN_CREDIT_PRESTART_WORKERS", "false")


# Fixtures that reach a database, Redis or service processes (those built on make_database
# count through it: fixturenames holds a test's whole fixture closure).
BACKEND_FIXTURES = frozenset({"make_database", "live_stack", "services_stack", "redis_prefix"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, skip tests marked backend_free: what they check cannot depend on
    the database (pure functions, documents, manifests), and the SQLite pass already ran them."""
    if not PG_ADMIN_URL:
        return
    skip = pytest.mark.skip(reason="touches no database: run once, in the SQLite pass")
    for item in items:
        if item.get_closest_marker("backend_free") is None:
            continue
        backends = BACKEND_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if backends:
            raise pytest.UsageError(
                f"{item.nodeid} is marked backend_free but uses {', '.join(sorted(backends))}"
            )
        item.add_marker(skip)


def _pg_conninfo(url: str) -> str:
    u = make_url(url)
    host, port = u.host or "127.0.0.1", u.port or 5432
    return f"host={host} port={port} user={u.username or 'root'} dbname={u.database or 'postgres'}"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model directory per test session, so the bootstrap model is trained once."""
    shared_dir = os.environ.get("SMEFIN_TEST_MODEL_DIR")
    if shared_dir:
        return Path(shared_dir)
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def make_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Factory: a fresh, migrated database for a service; dropped after the test."""
    created: list[str] = []

    def make(service: str) -> str:
        if PG_ADMIN_URL:
            name = f"smefin_t_{service}_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            created.append(name)
            url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{tmp_path / f'{service}.db'}"
        upgrade_to_head(MIGRATIONS[service], url)
        return url

    yield make
    if created:
        with psycopg.connect(_pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
            for name in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def principal_headers(
    org_id: str, kind: str = "platform", scopes: tuple[str, ...] = ("*",)
) -> dict[str, str]:
    """Headers the gateway would add for a caller."""
    return {
        PRINCIPAL_HEADER: sign_principal(Principal(org_id, kind, frozenset(scopes)), TEST_SECRET)
    }


@pytest.fixture
def as_org() -> Callable[..., dict[str, str]]:
    """Factory of signed principal headers."""
    return principal_headers
