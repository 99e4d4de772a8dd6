"""Matching service settings (prefix SMEFIN_MATCHING_)."""

from __future__ import annotations

from decimal import Decimal
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
    # Accepted offers hold capacity this long unless the loan is disbursed (then until repaid).
    reservation_ttl_hours: float = 72.0
    max_offers: int = 10
    catalogue_ttl_s: float = 2.0
    # Background upkeep: release expired reservations, resend outcomes to credit.
    upkeep_interval_s: float = 5.0
    outcome_retry_max_s: float = 300.0
    # Regulatory defaults (shared/reference/regulation.md); a profile may set its own.
    slc_single_borrower_limit: Decimal = Decimal("0.10")
    slc_related_group_limit: Decimal = Decimal("0.15")
    guarantor_leverage: Decimal = Decimal("10")
    guarantor_leverage_small_micro: Decimal = Decimal("15")
    guarantor_single_client_limit: Decimal = Decimal("0.10")
    guarantor_related_group_limit: Decimal = Decimal("0.15")

    @model_validator(mode="after")
    def _default_database(self) -> MatchingSettings:
        if not self.database_url:
            self.database_url = default_sqlite_url("matching")
        return self


@lru_cache
def get_settings() -> MatchingSettings:
    """The process-wide settings, read once."""
    return MatchingSettings()
