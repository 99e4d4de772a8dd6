"""Deal schemas: applications and offers, referrals and decisions, loans, consents, events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from typing_extensions import TypedDict

from shared.types import Rfc3339

Money = Decimal
FIRM_REF_PATTERN = r"^[A-Za-z0-9._:\-]+$"


class ApplicationIn(BaseModel):
    """A platform applies for financing on a merchant's behalf."""

    model_config = ConfigDict(extra="forbid")

    firm_ref: str = Field(min_length=1, max_length=128, pattern=FIRM_REF_PATTERN)
    amount_cny: Money = Field(gt=0, le=10**10, decimal_places=2)
    term_months: StrictInt = Field(ge=1, le=360)
    purpose: Literal["working_capital", "inventory", "equipment", "marketing", "other"] = (
        "working_capital"
    )


class OfferPublic(BaseModel):
    """A priced offer, ranked by its all-in annual cost (lower is better for the firm)."""

    id: str
    rank: int
    loan_product_id: str
    lender_org_id: str
    guarantee_product_id: str | None
    guarantor_org_id: str | None
    agreement_id: str | None
    amount_cny: Money
    term_months: int
    pd_12m: Decimal
    lender_loss_share: Decimal = Field(description="share of losses the lender keeps and prices")
    annual_rate: Decimal
    upfront_fee_cny: Money
    guaranteed_cny: Money
    guarantee_fee_cny: Money
    monthly_payment_cny: Money = Field(description="level loan payment, guarantee fee excluded")
    total_cost_cny: Money = Field(description="everything paid beyond the principal, fees included")
    all_in_annual_cost: Decimal = Field(
        description="effective annual rate of the firm's actual cash flows, fees included"
    )
    status: str
    expires_at: datetime


class NotOffered(TypedDict):
    """A product combination that was not offered, and every reason why (machine-readable).

    A TypedDict, not a model: an application lists up to thousands of these, built by matching
    itself, and plain dicts serialise without a Python object per entry.
    """

    loan_product_id: str
    lender_org_id: str
    guarantee_product_id: str | None
    guarantor_org_id: str | None
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
    referral_id: str | None = None
    created_at: datetime


class AcceptIn(BaseModel):
    """Which offer the firm takes."""

    model_config = ConfigDict(extra="forbid")

    offer_id: str = Field(min_length=1, max_length=40)


class DecisionIn(BaseModel):
    """A lender's or guarantor's decision on a referral."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "decline"]
    note: str | None = Field(default=None, max_length=500)


class ReferralPublic(BaseModel):
    """A referral as its lender, guarantor or platform sees it (no firm data: see /firm-data)."""

    id: str
    application_id: str
    offer_id: str
    platform_org_id: str
    firm_ref: str
    lender_org_id: str
    guarantor_org_id: str | None
    status: str
    lender_decision: str | None
    guarantor_decision: str | None
    loan_id: str | None
    amount_cny: Money
    term_months: int
    outstanding_cny: Money
    days_overdue: int
    application_date: date
    created_at: datetime
    updated_at: datetime


class LoanEventIn(BaseModel):
    """Something that happened to a loan, reported by its lender."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["disbursed", "repayment", "days_overdue", "default", "repaid"]
    principal_cny: Money | None = Field(
        default=None, gt=0, le=10**11, decimal_places=2, description="repayment: principal repaid"
    )
    days_overdue: StrictInt | None = Field(default=None, ge=0, le=3650)
    occurred_at: Rfc3339 | None = None

    @model_validator(mode="after")
    def _fields(self) -> LoanEventIn:
        if self.kind == "repayment" and self.principal_cny is None:
            raise ValueError("a repayment names principal_cny")
        if self.kind == "days_overdue" and self.days_overdue is None:
            raise ValueError("a days_overdue event names days_overdue")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a timezone")
        return self


class EventPublic(BaseModel):
    """One event of a referral or loan."""

    id: int
    kind: str
    referral_id: str | None
    actor_org_id: str
    payload: dict[str, Any]
    created_at: datetime


CONSENT_PURPOSES = ("financing_review", "loan_monitoring")


class ConsentIn(BaseModel):
    """The firm lets one lender or guarantor see its metrics, score and reasons for a purpose."""

    model_config = ConfigDict(extra="forbid")

    grantee_org_id: str = Field(min_length=1, max_length=64)
    purpose: Literal["financing_review", "loan_monitoring"] = "financing_review"


class ConsentPublic(BaseModel):
    """A recorded consent; revoked_at set once revoked."""

    id: str
    firm_ref: str
    grantee_org_id: str
    purpose: str
    created_at: datetime
    revoked_at: datetime | None


class SharedFirmData(BaseModel):
    """What a lender or guarantor may see of a referred firm under consent."""

    referral_id: str
    firm_ref: str
    consent_id: str
    snapshot: dict[str, Any]
    metrics: dict[str, Any]
