"""Run a service's Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An Alembic config for one service's migrations folder and database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_to_head(migrations_dir: Path, database_url: str) -> None:
    """Apply every pending migration of a service.

    "heads", not "head": branches written in parallel (each revising the same parent) all apply,
    so two changes need no merge revision to be deployable.
    """
    command.upgrade(alembic_config(migrations_dir, database_url), "heads")


def head_revisions(migrations_dir: Path) -> list[str]:
    """The head revision(s) of a service's migrations, sorted (names a schema version)."""
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, "sqlite://"))
    return sorted(script.get_heads())
