"""Early-warning tables: which firms are monitored for whom, each org's rules, and the hits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from services.credit.models import CreditBase
from shared.db import UTCDateTime, utcnow


class MonitoredFirm(CreditBase, table=True):
    """A firm a lender or guarantor is exposed to (set by matching when a loan is live)."""

    __tablename__ = "monitored_firm"

    platform_org_id: str = Field(max_length=64, primary_key=True)
    firm_ref: str = Field(max_length=128, primary_key=True)
    org_id: str = Field(max_length=64, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EarlyWarningRuleSet(CreditBase, table=True):
    """One lender's or guarantor's thresholds; rules left out take the defaults."""

    __tablename__ = "early_warning_rule_set"

    org_id: str = Field(max_length=64, primary_key=True)
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EarlyWarning(CreditBase, table=True):
    """One rule hit for one exposed org, at most once per firm, rule and month."""

    __tablename__ = "early_warning"
    __table_args__ = (UniqueConstraint("org_id", "platform_org_id", "firm_ref", "rule", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64, index=True)
    platform_org_id: str = Field(max_length=64)
    firm_ref: str = Field(max_length=128)
    rule: str = Field(max_length=32)
    month: str = Field(max_length=7)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
