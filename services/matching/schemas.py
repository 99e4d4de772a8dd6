"""Matching request and response schemas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Money = Decimal


class LenderProfileIn(BaseModel):
    """A lender's own description: kind, size and budget."""

    model_config = ConfigDict(extra="forbid")

    lender_kind: Literal["bank", "small_loan_company"]
    name: str = Field(min_length=1, max_length=200)
    net_assets_cny: Money = Field(gt=0, le=10**13, decimal_places=2)
    lending_budget_cny: Money = Field(ge=0, le=10**13, decimal_places=2)


class LenderProfilePublic(LenderProfileIn):
    """A lender's profile as stored, with the concentration limits that apply to it."""

    model_config = ConfigDict(extra="ignore")

    org_id: str
    single_borrower_limit: Decimal | None
    related_group_limit: Decimal | None
    updated_at: datetime


class LoanProductIn(BaseModel):
    """A loan product: amount and term ranges, price, risk appetite and eligibility."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    min_amount_cny: Money = Field(gt=0, le=10**11, decimal_places=2)
    max_amount_cny: Money = Field(gt=0, le=10**11, decimal_places=2)
    min_term_months: int = Field(ge=1, le=360)
    max_term_months: int = Field(ge=1, le=360)
    base_rate: Decimal = Field(ge=0, le=1, decimal_places=6, description="annual, as a fraction")
    risk_premium_per_pd: Decimal = Field(
        ge=0, le=100, decimal_places=6, description="rate added per unit of PD carried"
    )
    max_rate: Decimal = Field(ge=0, le=1, decimal_places=6)
    upfront_fee_rate: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("0.2"), decimal_places=6)
    max_pd: Decimal = Field(ge=0, le=1, decimal_places=6, description="appetite without guarantee")
    max_pd_guaranteed: Decimal | None = Field(default=None, ge=0, le=1, decimal_places=6)
    requires_guarantee: bool = False
    industries: list[str] = Field(default_factory=list, max_length=32)
    region_prefixes: list[str] = Field(default_factory=list, max_length=64)
    size_classes: list[Literal["medium", "small", "micro"]] = Field(default_factory=list)
    min_history_months: int = Field(default=0, ge=0, le=240)
    min_sales_12m_cny: Money = Field(default=Decimal(0), ge=0, le=10**13, decimal_places=2)
    active_from: datetime | None = None
    active_to: datetime | None = None

    @model_validator(mode="after")
    def _ranges(self) -> LoanProductIn:
        if self.min_amount_cny > self.max_amount_cny:
            raise ValueError("min_amount_cny is above max_amount_cny")
        if self.min_term_months > self.max_term_months:
            raise ValueError("min_term_months is above max_term_months")
        if self.base_rate > self.max_rate:
            raise ValueError("base_rate is above max_rate")
        if self.active_from and self.active_to and self.active_from >= self.active_to:
            raise ValueError("active_from must be before active_to")
        for prefix in self.region_prefixes:
            if not prefix.isdigit() or not 1 <= len(prefix) <= 6:
                raise ValueError("region_prefixes are 1-6 leading digits of division codes")
        return self


class LoanProductPublic(LoanProductIn):
    """A loan product as stored."""

    model_config = ConfigDict(extra="ignore")

    id: str
    lender_org_id: str
    status: str
    created_at: datetime


class ApplicationIn(BaseModel):
    """A platform applies for financing on a merchant's behalf."""

    model_config = ConfigDict(extra="forbid")

    firm_ref: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
    amount_cny: Money = Field(gt=0, le=10**10, decimal_places=2)
    term_months: int = Field(ge=1, le=360)
    purpose: Literal["working_capital", "inventory", "equipment", "marketing", "other"] = (
        "working_capital"
    )


class OfferPublic(BaseModel):
    """A priced offer, ranked by its all-in annual cost (lower is better for the firm)."""

    id: str
    rank: int
    loan_product_id: str
    lender_org_id: str
    amount_cny: Money
    term_months: int
    annual_rate: Decimal
    upfront_fee_cny: Money
    monthly_payment_cny: Money
    total_cost_cny: Money
    all_in_annual_cost: Decimal = Field(
        description="effective annual rate of the firm's actual cash flows, fees included"
    )
    status: str
    expires_at: datetime


class NotOffered(BaseModel):
    """A product that was not offered, and every reason why (machine-readable codes)."""

    loan_product_id: str
    lender_org_id: str
    reasons: list[str]


class ApplicationPublic(BaseModel):
    """An application with its ranked offers and the reasons for every product not offered."""

    id: str
    firm_ref: str
    amount_cny: Money
    term_months: int
    purpose: str
    status: str
    pd_12m: float | None
    grade: str | None
    model_version: str | None
    offers: list[OfferPublic]
    not_offered: list[NotOffered]
    created_at: datetime


class AcceptIn(BaseModel):
    """Which offer the firm takes."""

    model_config = ConfigDict(extra="forbid")

    offer_id: str = Field(min_length=1, max_length=40)
