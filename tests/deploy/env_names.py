"""Environment variable names the services read, derived from their settings classes."""

from __future__ import annotations

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.credit.config import CreditSettings
from services.gateway.config import GatewaySettings
from services.matching.config import MatchingSettings

# Read by the image (deploy/Dockerfile), not by the settings: which app to run and its port.
IMAGE_ENV = frozenset({"SMEFIN_SERVICE", "SMEFIN_PORT"})
# SMEFIN_REDIS_URL is the shared Redis of the gateway's rate limits and idempotency records.
SHARED_ENV = frozenset({"SMEFIN_REDIS_URL"})
# Values that must only ever come from a Secret (or the environment of a compose run).
SECRET_ENV = frozenset(
    {
        "SMEFIN_INTERNAL_SECRET",
        "SMEFIN_INTERNAL_SECRET_ACCEPTED",
        "SMEFIN_ADMIN_KEY",
        "SMEFIN_CREDIT_BUYER_HASH_KEY",
        "SMEFIN_CREDIT_DATABASE_URL",
        "SMEFIN_MATCHING_DATABASE_URL",
        "SMEFIN_GATEWAY_DATABASE_URL",
        "SMEFIN_REDIS_URL",
    }
)
SETTINGS: tuple[type[BaseSettings], ...] = (CreditSettings, MatchingSettings, GatewaySettings)


def known_env_names() -> frozenset[str]:
    """Every SMEFIN_* variable some service (or the image) reads."""
    names = set(IMAGE_ENV | SHARED_ENV)
    for cls in SETTINGS:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field_name, info in cls.model_fields.items():
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(c for c in alias.choices if isinstance(c, str) and c.isupper())
            else:
                names.add(prefix.upper() + field_name.upper())
    return frozenset(names)
