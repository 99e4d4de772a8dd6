"""Credit service settings (prefix SMEFIN_CREDIT_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.process_pool import usable_cpus
from shared.settings import VAR_DIR, ServiceSettings, default_sqlite_url


class CreditSettings(ServiceSettings):
    """Everything the credit service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SMEFIN_CREDIT_", extra="ignore")

    port: int = 8001
    # Buyer references are stored only as HMAC-SHA256 under this key.
    buyer_hash_key: SecretStr = SecretStr("dev-buyer-hash-key")
    default_timezone: str = "Asia/Shanghai"
    model_dir: Path = VAR_DIR / "models"
    max_json_rows: int = 10_000
    max_bulk_bytes: int = 20 * 1024 * 1024 * 1024
    # Clock skew allowed for transactions stamped slightly in the future.
    future_tolerance_s: int = 300
    # Rows (lines of a bulk upload) per transaction: each worker holds about 4 MB a 1,000;
    # past 10,000 fewer commits no longer pay for the memory.
    ingest_chunk_rows: int = 10_000
    max_listed_rejections: int = 1_000
    # Processes that parse, validate and write bulk NDJSON and CSV, a block of
    # ingest_chunk_rows lines each; 0 ingests in the request's own threads. Default: one per
    # CPU this process may use.
    ingest_workers: int = Field(default_factory=usable_cpus)
    # Processes that read and score chunks of a batch scoring job while the job's thread
    # inserts; 0 scores in the job's thread. Default: one per CPU this process may use.
    batch_workers: int = Field(default_factory=usable_cpus)
    # Start both pools in the background at boot, so that the first batch job and the first
    # bulk upload do not pay for their start-up (a second or two); false starts each on first
    # use (tests, tiny deployments that would rather not hold idle workers).
    prestart_workers: bool = True

    @model_validator(mode="after")
    def _default_database(self) -> CreditSettings:
        if not self.database_url:
            self.database_url = default_sqlite_url("credit")
        return self


@lru_cache
def get_settings() -> CreditSettings:
    """The process-wide settings, read once."""
    return CreditSettings()
