"""Catalogue schemas: profiles, loan and guarantee products, agreements, related groups."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from shared.types import Rfc3339

Money = Decimal
FIRM_REF = r"^[A-Za-z0-9._:\-]+$"
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=6)]


class LenderProfileIn(BaseModel):
    """A lender's own description: kind, size and budget."""

    model_config = ConfigDict(extra="forbid")

    lender_kind: Literal["bank", "small_loan_company"]
    name: str = Field(min_length=1, max_length=200)
    net_assets_cny: Money = Field(gt=0, le=10**13, decimal_places=2)
    lending_budget_cny: Money = Field(ge=0, le=10**13, decimal_places=2)
    single_borrower_limit: Rate | None = Field(
        default=None,
        description="share of net assets one borrower may owe; small loan companies default 0.10",
    )
    related_group_limit: Rate | None = Field(
        default=None,
        description="share of net assets a borrower with related parties may owe; default 0.15",
    )


class LenderProfilePublic(LenderProfileIn):
    """A lender's profile as stored, with the concentration limits and the budget in use."""

    model_config = ConfigDict(extra="ignore")

    org_id: str
    used_cny: Money
    updated_at: datetime


class GuarantorProfileIn(BaseModel):
    """A guarantor's size and limits; limits left out take the regulatory defaults."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    net_assets_cny: Money = Field(gt=0, le=10**13, decimal_places=2)
    serves_small_micro: bool = Field(
        default=False, description="mainly serves small and micro firms: leverage 15 instead of 10"
    )
    leverage_multiple: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=6)
    single_client_limit: Rate | None = None
    related_group_limit: Rate | None = None

    @model_validator(mode="after")
    def _limits(self) -> GuarantorProfileIn:
        if (
            self.single_client_limit is not None
            and self.related_group_limit is not None
            and self.single_client_limit > self.related_group_limit
        ):
            raise ValueError("single_client_limit is above related_group_limit")
        return self


class GuarantorProfilePublic(BaseModel):
    """A guarantor's profile as stored, with the limits that apply and the liability in use."""

    org_id: str
    name: str
    net_assets_cny: Money
    serves_small_micro: bool
    leverage_multiple: Decimal
    single_client_limit: Decimal
    related_group_limit: Decimal
    used_cny: Money
    updated_at: datetime


class EligibilityIn(BaseModel):
    """Who a product serves: shared by loan and guarantee products."""

    industries: list[str] = Field(default_factory=list, max_length=32)
    region_prefixes: list[str] = Field(default_factory=list, max_length=64)
    size_classes: list[Literal["medium", "small", "micro"]] = Field(default_factory=list)
    min_history_months: StrictInt = Field(default=0, ge=0, le=240)
    min_sales_12m_cny: Money = Field(default=Decimal(0), ge=0, le=10**13, decimal_places=2)
    active_from: Rfc3339 | None = None
    active_to: Rfc3339 | None = None

    @model_validator(mode="after")
    def _who(self) -> EligibilityIn:
        if self.active_from and self.active_to and self.active_from >= self.active_to:
            raise ValueError("active_from must be before active_to")
        for prefix in self.region_prefixes:
            if not prefix.isdigit() or not 1 <= len(prefix) <= 6:
                raise ValueError("region_prefixes are 1-6 leading digits of division codes")
        return self


class LoanProductIn(EligibilityIn):
    """A loan product: amount and term ranges, price, risk appetite and eligibility."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    min_amount_cny: Money = Field(gt=0, le=10**11, decimal_places=2)
    max_amount_cny: Money = Field(gt=0, le=10**11, decimal_places=2)
    min_term_months: StrictInt = Field(ge=1, le=360)
    max_term_months: StrictInt = Field(ge=1, le=360)
    base_rate: Decimal = Field(ge=0, le=1, decimal_places=6, description="annual, as a fraction")
    risk_premium_per_pd: Decimal = Field(
        ge=0, le=100, decimal_places=6, description="rate added per unit of PD carried"
    )
    max_rate: Decimal = Field(ge=0, le=1, decimal_places=6)
    upfront_fee_rate: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("0.2"), decimal_places=6)
    max_pd: Decimal = Field(ge=0, le=1, decimal_places=6, description="appetite without guarantee")
    max_pd_guaranteed: Decimal | None = Field(default=None, ge=0, le=1, decimal_places=6)
    requires_guarantee: bool = False

    @model_validator(mode="after")
    def _ranges(self) -> LoanProductIn:
        if self.min_amount_cny > self.max_amount_cny:
            raise ValueError("min_amount_cny is above max_amount_cny")
        if self.min_term_months > self.max_term_months:
            raise ValueError("min_term_months is above max_term_months")
        if self.base_rate > self.max_rate:
            raise ValueError("base_rate is above max_rate")
        if self.requires_guarantee and self.max_pd_guaranteed is None:
            raise ValueError("a product that requires a guarantee needs max_pd_guaranteed")
        return self


class LoanProductPublic(LoanProductIn):
    """A loan product as stored."""

    model_config = ConfigDict(extra="ignore")

    id: str
    lender_org_id: str
    status: str
    created_at: datetime


class GuaranteeProductIn(EligibilityIn):
    """A guarantee product: coverage, fee, risk appetite, per-firm maximum and eligibility."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    coverage_ratio: Decimal = Field(gt=0, le=1, decimal_places=6, description="share of principal")
    annual_fee_rate: Decimal = Field(ge=0, le=Decimal("0.1"), decimal_places=6)
    policy: bool = Field(default=False, description="policy guarantee: fee at most 1% a year")
    max_pd: Rate
    max_per_firm_cny: Money = Field(gt=0, le=10**11, decimal_places=2)

    @model_validator(mode="after")
    def _policy_fee(self) -> GuaranteeProductIn:
        if self.policy and self.annual_fee_rate > Decimal("0.01"):
            raise ValueError("a policy guarantee charges at most 1% a year")
        return self


class GuaranteeProductPublic(GuaranteeProductIn):
    """A guarantee product as stored."""

    model_config = ConfigDict(extra="ignore")

    id: str
    guarantor_org_id: str
    status: str
    created_at: datetime


class AgreementParty(BaseModel):
    """One named party of a risk-sharing agreement and the share of losses it bears."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Literal["lender", "guarantor", "re_guarantor", "government", "other"]
    share: Decimal = Field(gt=0, le=1, decimal_places=6)


class AgreementIn(BaseModel):
    """A lender-guarantor risk-sharing contract; the counterparty confirms it before it applies."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    lender_org_id: str = Field(min_length=1, max_length=64)
    guarantor_org_id: str = Field(min_length=1, max_length=64)
    parties: list[AgreementParty] = Field(min_length=2, max_length=10)

    @model_validator(mode="after")
    def _shares(self) -> AgreementIn:
        if sum((p.share for p in self.parties), Decimal(0)) != 1:
            raise ValueError("party shares must sum to exactly 1 (100%)")
        if sum(1 for p in self.parties if p.role == "lender") != 1:
            raise ValueError("exactly one party has role lender")
        if sum(1 for p in self.parties if p.role == "guarantor") != 1:
            raise ValueError("exactly one party has role guarantor")
        return self


class AgreementPublic(AgreementIn):
    """A risk-sharing agreement as stored; only an active one backs guaranteed offers."""

    model_config = ConfigDict(extra="ignore")

    id: str
    lender_share: Decimal
    proposed_by: str
    status: str
    created_at: datetime


class RelatedGroupIn(BaseModel):
    """Firms of the calling platform under one controller."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    firm_refs: list[Annotated[str, Field(min_length=1, max_length=128, pattern=FIRM_REF)]] = Field(
        min_length=2, max_length=200
    )


class RelatedGroupPublic(BaseModel):
    """A related-party group and its firms."""

    id: str
    name: str
    firm_refs: list[str]
    created_at: datetime
