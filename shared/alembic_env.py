"""The body of every service's Alembic env.py: online migrations against the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from shared.db import is_sqlite, make_engine


def run_migrations(target_metadata: MetaData) -> None:
    """Run migrations for `target_metadata` against the URL in the Alembic config."""
    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    assert url, "no database URL given to migrations"
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode recreates tables instead.
            render_as_batch=is_sqlite(url),
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
