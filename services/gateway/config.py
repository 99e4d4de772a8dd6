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
    upstream_timeout_s: float = 10.0
    bulk_upstream_timeout_s: float = 3600.0
    upstream_pool_size: int = 256
    # How long a verified key is trusted without a database read (revocation delay bound).
    key_cache_ttl_s: float = 2.0
    public_url: str = ""
    # Shared state across replicas (rate limits, idempotency, revocation broadcast) when set.
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SMEFIN_REDIS_URL", "redis_url")
    )
    redis_prefix: str = "smefin:gw:"
    # Default token bucket per key (an organisation may have its own).
    rate_limit_per_s: float = 1000.0
    rate_limit_burst: int = 2000
    idempotency_ttl_s: int = 24 * 3600
    # Responses bigger than this are not stored for replay (the key is released instead).
    idempotency_max_body_bytes: int = 1024 * 1024
    # Circuit breaker: this many consecutive failures open it for the cool-down.
    breaker_failures: int = 5
    breaker_cooldown_s: float = 2.0
    # Audit rows are written in batches by a background task.
    audit_flush_s: float = 0.5
    # Outbox collection and webhook delivery.
    event_poll_s: float = 0.5
    webhook_poll_s: float = 0.5
    webhook_timeout_s: float = 10.0
    # Standard Webhooks-style schedule (~27 h in all); each wait gets +-20% jitter.
    webhook_retry_schedule_s: list[float] = [5, 300, 1800, 7200, 18000, 36000, 36000]
    # Webhook URLs resolving to private or loopback addresses are refused unless listed here.
    webhook_allowed_hosts: list[str] = []
    webhook_allow_private: bool = False
    revocation_poll_s: float = 0.5

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
