"""Gateway settings (prefix SMEFIN_GATEWAY_; the bootstrap admin key is SMEFIN_ADMIN_KEY)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, default_sqlite_url


class GatewaySettings(ServiceSettings):
    """Everything the gateway reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SMEFIN_GATEWAY_", extra="ignore")

    port: int = 8000
    admin_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SMEFIN_ADMIN_KEY", "admin_key")
    )
    credit_url: str = "http://127.0.0.1:8001"
    matching_url: str = "http://127.0.0.1:8002"
    # Upstream budget: connect fast or fail fast, so a dead service answers 503 within 1 s.
    upstream_connect_timeout_s: float = 0.5
    upstream_timeout_s: float = 30.0
    bulk_upstream_timeout_s: float = 3600.0
    upstream_pool_size: int = 256
    # How long a verified key is trusted without a database read (revocation delay bound).
    key_cache_ttl_s: float = 2.0
    public_url: str = ""

    @model_validator(mode="after")
    def _defaults(self) -> GatewaySettings:
        if not self.database_url:
            self.database_url = default_sqlite_url("gateway")
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        return self


@lru_cache
def get_settings() -> GatewaySettings:
    """The process-wide settings, read once."""
    return GatewaySettings()
