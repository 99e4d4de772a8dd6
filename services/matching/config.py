"""Matching service settings (prefix SMEFIN_MATCHING_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, default_sqlite_url


class MatchingSettings(ServiceSettings):
    """Everything the matching service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SMEFIN_MATCHING_", extra="ignore")

    port: int = 8002
    credit_url: str = "http://127.0.0.1:8001"
    credit_timeout_s: float = 3.0
    offer_ttl_hours: int = 72

    @model_validator(mode="after")
    def _default_database(self) -> MatchingSettings:
        if not self.database_url:
            self.database_url = default_sqlite_url("matching")
        return self


@lru_cache
def get_settings() -> MatchingSettings:
    """The process-wide settings, read once."""
    return MatchingSettings()
