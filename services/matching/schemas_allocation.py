"""Bodies and answers of allocation runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, StrictFloat

from services.matching.allocation import Objective

MAX_TIME_LIMIT_S = 30.0


class AllocationRunIn(BaseModel):
    """Start a run: the objective, optionally a subset of pending applications, a time budget."""

    objective: Objective
    application_ids: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    time_limit_s: StrictFloat = Field(default=8.0, gt=0, le=MAX_TIME_LIMIT_S)


class RunChoice(BaseModel):
    """One financed application: the offer chosen and what it draws."""

    application_id: str
    offer_id: str
    loan_product_id: str
    lender_id: str
    guarantee_product_id: str | None
    guarantor_id: str | None
    amount: Decimal
    guaranteed_exposure: Decimal
    value: Decimal


class RunLeftOut(BaseModel):
    """An application the run did not finance: a stable reason code, the limit and its holder."""

    application_id: str
    reason: str
    limit: str | None
    holder: str | None
    detail: str
    ineligible: list[str]


class AllocationRunPublic(BaseModel):
    """A run's report: objective, LP bound and gap, greedy baseline, choices and left-out reasons.

    Money (objective_value, upper_bound, greedy_value, financed_amount) is CNY; gap is
    (upper_bound - objective_value) / upper_bound.
    """

    id: str
    status: str
    objective: Objective
    objective_value: Decimal
    upper_bound: Decimal
    bound_method: str
    gap: float
    greedy_value: Decimal
    greedy_ratio: float
    proven_optimal: bool
    applications_considered: int
    applications_financed: int
    firms_financed: int
    financed_amount: Decimal
    choices: list[RunChoice]
    left_out: list[RunLeftOut]
    stale_reasons: list[str]
    seconds: dict[str, float]
    created_at: datetime
    applied_at: datetime | None
    discarded_at: datetime | None
