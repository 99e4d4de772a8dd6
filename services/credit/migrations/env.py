"""Alembic environment of the credit service."""

import services.credit.early_warning_models  # noqa: F401  (registers the early-warning tables)
from services.credit.models import credit_registry
from shared.alembic_env import run_migrations

run_migrations(credit_registry.metadata)
