"""Matching tables: lender profiles, loan products, applications and offers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Numeric
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import MinorUnits, UTCDateTime, naming_metadata, utcnow
from shared.outbox import outbox_table

matching_registry = registry(metadata=naming_metadata())
Rate = Numeric(10, 6, asdecimal=True)


def new_id(prefix: str) -> str:
    """A public id: a short type prefix and 128 random bits."""
    return f"{prefix}_{uuid.uuid4().hex}"


class MatchingBase(SQLModel, registry=matching_registry):
    """Base of every matching table (own metadata, so services never share tables)."""


class LenderProfile(MatchingBase, table=True):
    """A bank or small loan company: its size and the limits its regulator sets."""

    __tablename__ = "lender_profile"

    org_id: str = Field(primary_key=True, max_length=64)
    lender_kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    net_assets_cny: Decimal = Field(sa_type=MinorUnits(2))
    lending_budget_cny: Decimal = Field(sa_type=MinorUnits(2))
    single_borrower_limit: Decimal | None = Field(default=None, sa_type=Rate)
    related_group_limit: Decimal | None = Field(default=None, sa_type=Rate)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoanProduct(MatchingBase, table=True):
    """A lender's loan product: amounts, terms, price and who is eligible."""

    __tablename__ = "loan_product"

    id: str = Field(default_factory=lambda: new_id("lp"), primary_key=True, max_length=40)
    lender_org_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    min_amount_cny: Decimal = Field(sa_type=MinorUnits(2))
    max_amount_cny: Decimal = Field(sa_type=MinorUnits(2))
    min_term_months: int
    max_term_months: int
    base_rate: Decimal = Field(sa_type=Rate)
    risk_premium_per_pd: Decimal = Field(sa_type=Rate)
    max_rate: Decimal = Field(sa_type=Rate)
    upfront_fee_rate: Decimal = Field(default=Decimal(0), sa_type=Rate)
    max_pd: Decimal = Field(sa_type=Rate)
    max_pd_guaranteed: Decimal | None = Field(default=None, sa_type=Rate)
    requires_guarantee: bool = False
    industries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    region_prefixes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    size_classes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_history_months: int = 0
    min_sales_12m_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
    active_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Application(MatchingBase, table=True):
    """A firm's request for financing, made by its platform, with the score it was priced on."""

    __tablename__ = "application"

    id: str = Field(default_factory=lambda: new_id("app"), primary_key=True, max_length=40)
    platform_org_id: str = Field(max_length=64, index=True)
    firm_ref: str = Field(max_length=128)
    amount_cny: Decimal = Field(sa_type=MinorUnits(2))
    term_months: int
    purpose: str = Field(max_length=64)
    status: str = Field(default="offered", max_length=16)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    not_offered: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Offer(MatchingBase, table=True):
    """One priced offer of an application: the product, the price and the all-in cost."""

    __tablename__ = "offer"

    id: str = Field(default_factory=lambda: new_id("off"), primary_key=True, max_length=40)
    application_id: str = Field(foreign_key="application.id", index=True, max_length=40)
    loan_product_id: str = Field(foreign_key="loan_product.id", max_length=40)
    lender_org_id: str = Field(max_length=64, index=True)
    rank: int
    amount_cny: Decimal = Field(sa_type=MinorUnits(2))
    term_months: int
    annual_rate: Decimal = Field(sa_type=Rate)
    upfront_fee_cny: Decimal = Field(sa_type=MinorUnits(2))
    monthly_payment_cny: Decimal = Field(sa_type=MinorUnits(2))
    total_cost_cny: Decimal = Field(sa_type=MinorUnits(2))
    all_in_annual_cost: Decimal = Field(sa_type=Rate)
    status: str = Field(default="offered", max_length=16)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Domain events, written in the same transaction as the change they describe (shared/outbox.py).
outbox_event = outbox_table(matching_registry.metadata)
