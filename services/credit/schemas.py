"""Credit request and response schemas."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from services.credit.reference import industries, uscc_problem

FirmRef = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
_REGION = re.compile(r"^[1-8]\d{5}$")


class FirmUpsert(BaseModel):
    """What a platform tells us about one of its merchants."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    uscc: str | None = Field(default=None, description="Unified Social Credit Code (GB 32100-2015)")
    industry: str = Field(description="Industry key of the SME size table, e.g. retail")
    region_code: str = Field(description="6-digit administrative division code (GB/T 2260)")
    registered_on: date | None = None
    employees: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    operating_revenue_cny: Decimal | None = Field(default=None, ge=0, le=10**13, decimal_places=2)
    total_assets_cny: Decimal | None = Field(default=None, ge=0, le=10**13, decimal_places=2)
    timezone: str | None = Field(default=None, description="IANA zone months are cut in")

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str | None) -> str | None:
        if v is None:
            return v
        problem = uscc_problem(v)
        if problem:
            raise ValueError(f"invalid Unified Social Credit Code: {problem}")
        return v

    @field_validator("industry")
    @classmethod
    def _industry(cls, v: str) -> str:
        if v not in industries():
            raise ValueError(f"unknown industry; one of: {', '.join(industries())}")
        return v

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str) -> str:
        if not _REGION.match(v):
            raise ValueError("must be a 6-digit administrative division code such as 330106")
        return v

    @field_validator("registered_on")
    @classmethod
    def _registered(cls, v: date | None) -> date | None:
        if v is not None and (v.year < 1949 or v > date.today()):
            raise ValueError("must be a past date after 1949")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return v if v is None else check_timezone(v)


def check_timezone(name: str) -> str:
    """An IANA time zone name, or a ValueError saying it is not one."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name[:64]!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
    return name


class PlatformSettingsIn(BaseModel):
    """A platform's ingest settings."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(
        max_length=64,
        description="IANA zone in which new firms' months are cut (a firm may override it)",
        examples=["Asia/Shanghai"],
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)


class PlatformSettingsPublic(BaseModel):
    """A platform's ingest settings, and whether they are the service default."""

    timezone: str
    is_default: bool


class FirmPublic(BaseModel):
    """A firm as the platform sees it."""

    firm_ref: str
    name: str | None
    uscc: str | None
    industry: str
    region_code: str
    registered_on: date | None
    employees: int | None
    operating_revenue_cny: Decimal | None
    total_assets_cny: Decimal | None
    size_class: Literal["large", "medium", "small", "micro"]
    size_table_version: str
    timezone: str
    created_at: datetime
    updated_at: datetime


class Rejection(BaseModel):
    """One row not stored: where it was, which field, why."""

    line: int = Field(description="1-based line (bulk) or array index + 1 (JSON array)")
    field: str
    reason: str
    txn_id: str | None = None


class IngestReport(BaseModel):
    """What happened to every row received: received = inserted + duplicates + rejected."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[Rejection] = Field(default_factory=list)
    rejections_truncated: bool = False


class TransactionIn(BaseModel):
    """One transaction row (documented shape; rows are validated one by one on ingest)."""

    txn_id: str = Field(max_length=128)
    type: Literal["sale", "refund", "chargeback", "payout", "fee"]
    occurred_at: str = Field(
        description="RFC 3339 with offset", examples=["2026-10-11T20:15:00+08:00"]
    )
    amount: str = Field(description="positive decimal string", examples=["129.90"])
    currency: str = Field(examples=["CNY"])
    order_ref: str | None = None
    buyer_ref: str | None = Field(default=None, description="stored only as a keyed hash")
    channel: str | None = None
    category: str | None = None
    refund_of: str | None = Field(default=None, description="txn_id of the sale refunded")
    firm_ref: str | None = Field(default=None, description="bulk uploads only")


class MonthMetricsPublic(BaseModel):
    """A firm's figures for one calendar month (firm's time zone) in one currency."""

    month: str
    currency: str
    sales: Decimal
    refunds: Decimal
    chargebacks: Decimal
    net_sales: Decimal
    payouts: Decimal
    fees: Decimal
    orders: int
    average_order_value: Decimal | None
    refund_count: int
    chargeback_count: int
    distinct_buyers: int
    repeat_buyers: int
    top_buyer_share: float | None
    active_days: int


class MetricsPublic(BaseModel):
    """Monthly metrics of a firm as of a date: only months complete before it."""

    firm_ref: str
    as_of: date | None
    months: list[MonthMetricsPublic]


class ReasonCode(BaseModel):
    """An adverse factor of a score a firm can read."""

    code: str
    message_en: str
    message_zh: str
    points: float


class ScorePublic(BaseModel):
    """Probability of default in 12 months, its score and grade, and why."""

    firm_ref: str
    pd_12m: float
    score: int
    grade: str
    reasons: list[ReasonCode]
    model_version: str
    as_of: date
    features: dict[str, float]
    scored_at: datetime
    score_id: int | None = Field(
        default=None, description="id of the stored score: `smefin credit reproduce` recomputes it"
    )


class ModelPublic(BaseModel):
    """A model version of the registry."""

    version: str
    kind: str
    status: str
    sha256: str
    features: list[str]
    training_window: dict[str, Any]
    metrics: dict[str, Any]
    created_at: datetime
    promoted_at: datetime | None


class FirmSnapshot(BaseModel):
    """What matching needs to price a firm: profile, score and history facts, at one moment."""

    firm_ref: str
    industry: str
    region_code: str
    size_class: str
    months_of_history: int
    sales_12m_cny: Decimal
    score: ScorePublic
