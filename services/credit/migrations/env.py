"""Alembic environment of the credit service."""

from services.credit.models import credit_registry
from shared.alembic_env import run_migrations

run_migrations(credit_registry.metadata)
