"""Matching tables: profiles, products, agreements, applications, offers, ledger, referrals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
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
    used_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
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
    guarantee_product_id: str | None = Field(default=None, max_length=40)
    guarantor_org_id: str | None = Field(default=None, max_length=64)
    agreement_id: str | None = Field(default=None, max_length=40)
    rank: int
    pd_12m: Decimal = Field(default=Decimal(0), sa_type=Rate)
    lender_loss_share: Decimal = Field(default=Decimal(1), sa_type=Rate)
    guaranteed_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
    guarantee_fee_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
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


class GuarantorProfile(MatchingBase, table=True):
    """A financing guarantee company: net assets and the regulator's leverage and client limits."""

    __tablename__ = "guarantor_profile"

    org_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    net_assets_cny: Decimal = Field(sa_type=MinorUnits(2))
    serves_small_micro: bool = False
    leverage_multiple: Decimal = Field(sa_type=Rate)
    single_client_limit: Decimal = Field(sa_type=Rate)
    related_group_limit: Decimal = Field(sa_type=Rate)
    used_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GuaranteeProduct(MatchingBase, table=True):
    """A guarantor's product: how much of a loan it covers, its fee, appetite and eligibility."""

    __tablename__ = "guarantee_product"

    id: str = Field(default_factory=lambda: new_id("gp"), primary_key=True, max_length=40)
    guarantor_org_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    coverage_ratio: Decimal = Field(sa_type=Rate)
    annual_fee_rate: Decimal = Field(sa_type=Rate)
    policy: bool = False
    max_pd: Decimal = Field(sa_type=Rate)
    max_per_firm_cny: Decimal = Field(sa_type=MinorUnits(2))
    industries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    region_prefixes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    size_classes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_history_months: int = 0
    min_sales_12m_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
    active_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RiskSharingAgreement(MatchingBase, table=True):
    """A lender-guarantor contract splitting losses between named parties (shares sum to 1)."""

    __tablename__ = "risk_sharing_agreement"

    id: str = Field(default_factory=lambda: new_id("rsa"), primary_key=True, max_length=40)
    lender_org_id: str = Field(max_length=64, index=True)
    guarantor_org_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    parties: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    lender_share: Decimal = Field(sa_type=Rate)
    proposed_by: str = Field(max_length=64)
    status: str = Field(default="proposed", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RelatedGroup(MatchingBase, table=True):
    """Firms a platform declares related (one controller): concentration limits apply to all."""

    __tablename__ = "related_group"

    id: str = Field(default_factory=lambda: new_id("rg"), primary_key=True, max_length=40)
    platform_org_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RelatedMember(MatchingBase, table=True):
    """A firm's membership of one related-party group."""

    __tablename__ = "related_member"

    platform_org_id: str = Field(primary_key=True, max_length=64)
    firm_ref: str = Field(primary_key=True, max_length=128)
    group_id: str = Field(foreign_key="related_group.id", index=True, max_length=40)


class CapacityReservation(MatchingBase, table=True):
    """The capacity ledger: lender budget and guarantor liability one accepted offer holds."""

    __tablename__ = "capacity_reservation"

    id: str = Field(default_factory=lambda: new_id("res"), primary_key=True, max_length=40)
    offer_id: str = Field(foreign_key="offer.id", unique=True, max_length=40)
    platform_org_id: str = Field(max_length=64)
    firm_ref: str = Field(max_length=128)
    lender_org_id: str = Field(max_length=64, index=True)
    guarantor_org_id: str | None = Field(default=None, max_length=64, index=True)
    lender_cny: Decimal = Field(sa_type=MinorUnits(2))
    guarantee_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
    # reserved (accepted, not yet lent) -> outstanding (disbursed) -> released
    status: str = Field(default="reserved", max_length=16, index=True)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Referral(MatchingBase, table=True):
    """An accepted offer sent to its lender (and guarantor), then the loan it becomes."""

    __tablename__ = "referral"

    id: str = Field(default_factory=lambda: new_id("ref"), primary_key=True, max_length=40)
    application_id: str = Field(foreign_key="application.id", index=True, max_length=40)
    offer_id: str = Field(foreign_key="offer.id", unique=True, max_length=40)
    reservation_id: str = Field(foreign_key="capacity_reservation.id", max_length=40)
    platform_org_id: str = Field(max_length=64, index=True)
    firm_ref: str = Field(max_length=128)
    lender_org_id: str = Field(max_length=64, index=True)
    guarantor_org_id: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(max_length=16)
    lender_decision: str | None = Field(default=None, max_length=16)
    guarantor_decision: str | None = Field(default=None, max_length=16)
    loan_id: str | None = Field(default=None, unique=True, max_length=40)
    amount_cny: Decimal = Field(sa_type=MinorUnits(2))
    term_months: int
    outstanding_cny: Decimal = Field(default=Decimal(0), sa_type=MinorUnits(2))
    days_overdue: int = 0
    application_date: date
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Consent(MatchingBase, table=True):
    """A platform's record that a firm lets one lender or guarantor see its data for a purpose."""

    __tablename__ = "consent"

    id: str = Field(default_factory=lambda: new_id("cns"), primary_key=True, max_length=40)
    platform_org_id: str = Field(max_length=64, index=True)
    firm_ref: str = Field(max_length=128)
    grantee_org_id: str = Field(max_length=64, index=True)
    purpose: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MatchingEvent(MatchingBase, table=True):
    """Something that happened to a referral or loan, visible to the organisations it names."""

    __tablename__ = "matching_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=48)
    referral_id: str | None = Field(default=None, max_length=40, index=True)
    actor_org_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutcomeOutbox(MatchingBase, table=True):
    """A loan outcome for credit: written with the loan event, resent until acknowledged."""

    __tablename__ = "outcome_outbox"

    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(unique=True, max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=300)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AllocationRun(MatchingBase, table=True):
    """A batch allocation run: its figures, the offer chosen per application, who was left out."""

    __tablename__ = "allocation_run"

    id: str = Field(default_factory=lambda: new_id("run"), primary_key=True, max_length=40)
    status: str = Field(default="computed", max_length=16, index=True)
    objective: str = Field(max_length=32)
    created_by: str = Field(max_length=64)
    objective_value: Decimal = Field(sa_type=MinorUnits(2))
    upper_bound: Decimal = Field(sa_type=MinorUnits(2))
    greedy_value: Decimal = Field(sa_type=MinorUnits(2))
    gap: float
    applications_considered: int
    applications_financed: int
    firms_financed: int
    # The solver's summary (figures, choices with offer ids, left-out reasons), as returned.
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stale_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    discarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Domain events, written in the same transaction as the change they describe (shared/outbox.py).
outbox_event = outbox_table(matching_registry.metadata)
