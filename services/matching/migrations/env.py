"""Alembic environment of the matching service."""

from services.matching.models import matching_registry
from shared.alembic_env import run_migrations

run_migrations(matching_registry.metadata)
