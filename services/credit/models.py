"""Credit tables: firms, raw transactions, monthly metrics, model versions and scores."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    UniqueConstraint,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import MinorUnits, UTCDateTime, naming_metadata, utcnow
from shared.outbox import outbox_table

credit_registry = registry(metadata=naming_metadata())
# SQLite only auto-increments an INTEGER PRIMARY KEY, so BIGINT ids fall back to INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class CreditBase(SQLModel, registry=credit_registry):
    """Base of every credit table (own metadata, so services never share tables)."""


class Firm(CreditBase, table=True):
    """A merchant of a platform, named by the platform's own reference."""

    __tablename__ = "firm"
    __table_args__ = (UniqueConstraint("platform_org_id", "firm_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_org_id: str = Field(max_length=64, index=True)
    firm_ref: str = Field(max_length=128)
    name: str | None = Field(default=None, max_length=200)
    uscc: str | None = Field(default=None, max_length=18)
    industry: str = Field(max_length=32)
    region_code: str = Field(max_length=6)
    registered_on: date | None = None
    employees: int | None = None
    operating_revenue_cny: Decimal | None = Field(default=None, sa_type=MinorUnits(2))
    total_assets_cny: Decimal | None = Field(default=None, sa_type=MinorUnits(2))
    size_class: str = Field(max_length=8)
    size_table_version: str = Field(max_length=32)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Bumped in the same transaction as any metric change; a cached score older than it is stale.
    metrics_version: int = Field(default=0)


class PlatformSetting(CreditBase, table=True):
    """A platform's ingest settings: the time zone its firms' months are cut in by default."""

    __tablename__ = "platform_setting"

    platform_org_id: str = Field(primary_key=True, max_length=64)
    timezone: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SalesTransaction(CreditBase, table=True):
    """One immutable e-commerce event of a firm, as the platform reported it."""

    __tablename__ = "sales_transaction"
    __table_args__ = (UniqueConstraint("platform_org_id", "txn_id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    platform_org_id: str = Field(max_length=64)
    firm_id: int = Field(foreign_key="firm.id", index=True)
    txn_id: str = Field(max_length=128)
    type: str = Field(max_length=16)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    # Calendar month in the firm's time zone, "YYYY-MM": the key of its monthly metrics.
    local_month: str = Field(max_length=7)
    # Day of that month (1-31): which day the event made the firm active.
    local_day: int = Field(default=0, sa_type=SmallInteger)
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    order_ref: str | None = Field(default=None, max_length=128)
    buyer_hash: str | None = Field(default=None, max_length=32)
    channel: str | None = Field(default=None, max_length=32)
    category: str | None = Field(default=None, max_length=64)
    refund_of: str | None = Field(default=None, max_length=128)
    ingested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FirmMonthMetric(CreditBase, table=True):
    """Firm x month x currency aggregates, kept in step with the raw rows in one transaction."""

    __tablename__ = "firm_month_metric"

    firm_id: int = Field(foreign_key="firm.id", primary_key=True)
    month: str = Field(max_length=7, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    sales_minor: int = Field(default=0, sa_type=BigInteger)
    sales_count: int = 0
    refund_minor: int = Field(default=0, sa_type=BigInteger)
    refund_count: int = 0
    chargeback_minor: int = Field(default=0, sa_type=BigInteger)
    chargeback_count: int = 0
    payout_minor: int = Field(default=0, sa_type=BigInteger)
    payout_count: int = 0
    fee_minor: int = Field(default=0, sa_type=BigInteger)
    fee_count: int = 0
    distinct_buyers: int = 0
    repeat_buyers: int = 0
    top_buyer_sales_minor: int = Field(default=0, sa_type=BigInteger)
    # Bit d-1 set when the firm made a sale on day d of the month (local time).
    active_day_mask: int = Field(default=0, sa_type=BigInteger)
    # The scoring figures above as one 64-byte record (metric_record.py), written with them:
    # batch scoring reads these instead of formatting every column of every row. NULL: not
    # written (a writer of an older release, or figures changed without it: a trigger of
    # migration 0701 clears it then); the reader packs such rows from their columns.
    packed: bytes | None = Field(default=None, sa_type=LargeBinary)


class FirmMonthBuyerSet(CreditBase, table=True):
    """Per buyer (pseudonymised) sales and orders of a firm in a month, packed in one value
    (services/credit/ingest/buyer_sets.py): feeds distinct/repeat/top-buyer."""

    __tablename__ = "firm_month_buyer_set"

    firm_id: int = Field(foreign_key="firm.id", primary_key=True)
    month: str = Field(max_length=7, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    buyers: bytes = Field(sa_type=LargeBinary)


class ModelVersion(CreditBase, table=True):
    """A trained PD model artifact and what it was trained on."""

    __tablename__ = "model_version"

    version: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    status: str = Field(default="candidate", max_length=16)
    artifact_path: str = Field(max_length=512)
    sha256: str = Field(max_length=64)
    features: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    training_window: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    promoted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CreditScore(CreditBase, table=True):
    """A score as served: the model, the inputs and the result, so it can be reproduced."""

    __tablename__ = "credit_score"
    # Monitoring reads a model's scores month by month.
    __table_args__ = (
        Index("ix_credit_score_model_version_created_at", "model_version", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(foreign_key="firm.id", index=True)
    model_version: str = Field(max_length=64)
    as_of: date
    metrics_version: int
    pd_12m: float
    score: int
    grade: str = Field(max_length=2)
    reasons: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    features: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoanOutcome(CreditBase, table=True):
    """A loan outcome a lender reported (through matching): the label of a training row."""

    __tablename__ = "loan_outcome"

    loan_id: str = Field(primary_key=True, max_length=128)
    platform_org_id: str = Field(max_length=64, index=True)
    firm_ref: str = Field(max_length=128)
    # Features are taken as of this date: only what was known when the firm applied.
    application_date: date
    outcome: str = Field(max_length=16)
    observed_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ModelMonitoringEvent(CreditBase, table=True):
    """A month whose score distribution drifted past a PSI threshold for a model version."""

    __tablename__ = "model_monitoring_event"
    __table_args__ = (UniqueConstraint("model_version", "month", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    model_version: str = Field(max_length=64)
    month: str = Field(max_length=7)
    level: str = Field(max_length=16)
    psi: float
    threshold: float
    scores: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScoreBatchJob(CreditBase, table=True):
    """A job scoring every firm of a platform; its status and progress."""

    __tablename__ = "score_batch_job"

    id: str = Field(primary_key=True, max_length=32)
    platform_org_id: str = Field(max_length=64, index=True)
    status: str = Field(default="queued", max_length=16)
    model_version: str | None = Field(default=None, max_length=64)
    firms_total: int = 0
    firms_scored: int = 0
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Domain events, written in the same transaction as the change they describe (shared/outbox.py).
outbox_event = outbox_table(credit_registry.metadata)
