"""Settings base shared by every service: pydantic-settings with a per-service prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

# Values that must never reach production: the development defaults below and
# the usual "fill me in" words.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "secret", "dev-internal-secret", "dev-buyer-hash-key"}
)


class ServiceSettings(BaseSettings):
    """Base settings: subclasses set env_prefix (SMEFIN_CREDIT_, ...) and add their own fields."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Shared by every service, so read from un-prefixed SMEFIN_* variables.
    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("SMEFIN_ENV", "env")
    )
    internal_secret: SecretStr = Field(
        SecretStr("dev-internal-secret"),
        validation_alias=AliasChoices("SMEFIN_INTERNAL_SECRET", "internal_secret"),
    )
    # A second secret accepted (never used to sign) during a rotation, so replicas roll one by one.
    internal_secret_accepted: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "SMEFIN_INTERNAL_SECRET_ACCEPTED", "internal_secret_accepted"
        ),
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("SMEFIN_LOG_LEVEL", "log_level"))
    log_json: bool = Field(True, validation_alias=AliasChoices("SMEFIN_LOG_JSON", "log_json"))
    # Internal calls older than this are refused: it bounds replay of a captured header.
    principal_max_age_s: int = 60
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    max_body_bytes: int = 10 * 1024 * 1024
    # Streaming uploads are exempt from max_body_bytes: the route enforces its own limit.
    stream_paths: frozenset[str] = frozenset({"/v1/transactions/bulk"})

    def secret_fields(self) -> dict[str, SecretStr]:
        """Every secret of this settings object, by field name."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, SecretStr)}

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.env == "production":
            for name, value in self.secret_fields().items():
                if value.get_secret_value() in PLACEHOLDER_SECRETS:
                    raise ValueError(f"{name} is a placeholder; set a real secret in production")
        return self


def default_sqlite_url(service: str) -> str:
    """The embedded default database of a service: a SQLite file under var/."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / f'{service}.db'}"
