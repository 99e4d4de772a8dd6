"""Alembic environment of the gateway."""

from services.gateway.models import gateway_registry
from shared.alembic_env import run_migrations

run_migrations(gateway_registry.metadata)
