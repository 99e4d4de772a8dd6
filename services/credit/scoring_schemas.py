"""Request and response schemas of outcomes, batch jobs, monitoring and reproduction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class OutcomeIn(BaseModel):
    """A loan outcome reported by a lender, passed on by matching."""

    model_config = ConfigDict(extra="forbid")

    platform_org_id: str = Field(min_length=1, max_length=64)
    firm_ref: str = Field(min_length=1, max_length=128)
    loan_id: str = Field(min_length=1, max_length=128)
    application_date: date
    outcome: Literal["defaulted", "repaid"]
    observed_at: datetime = Field(description="RFC 3339 with offset")

    @field_validator("observed_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("must carry a UTC offset, e.g. 2026-11-01T10:00:00+08:00")
        return v


class OutcomePublic(OutcomeIn):
    """A stored outcome."""

    model_config = ConfigDict(extra="ignore")

    received_at: datetime


class BatchJobPublic(BaseModel):
    """A batch scoring job: its status and progress."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    model_version: str | None
    firms_total: int
    firms_scored: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class MonthPsi(BaseModel):
    """The PSI of one calendar month of scores against the training distribution."""

    month: str
    scores: int
    psi: float
    level: Literal["stable", "warning", "alert", "too_few"]


class MonitoringPublic(BaseModel):
    """Population stability of a model version's scores, per month, and recorded events."""

    model_version: str
    warn_threshold: float
    alert_threshold: float
    min_scores: int
    months: list[MonthPsi]
    events: list[dict[str, Any]]


class ReproductionPublic(BaseModel):
    """A stored score recomputed from its stored inputs and model version."""

    score_id: int
    model_version: str
    stored_pd_12m: float
    pd_12m: float
    score: int
    grade: str
    reasons: list[dict[str, Any]]
    matches: bool
