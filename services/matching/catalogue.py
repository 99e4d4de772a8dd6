"""A per-process cache of the active catalogue, so pricing an application reads no products.

Products and agreements change rarely and pricing one application reads all of them; the cache
keeps them for a short TTL (other replicas' changes show within it) and this process's own
writes invalidate it at once. Capacity figures are never cached: they are read per application.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.matching import repository
from services.matching.models import GuaranteeProduct, LoanProduct, RiskSharingAgreement


@dataclass(frozen=True, slots=True)
class LoanView:
    """What the pair loop reads of a loan product, as plain fields (no ORM attribute access)."""

    id: str
    lender_org_id: str
    base_rate: float
    premium_per_pd: float
    max_rate: float
    upfront_fee_rate: float
    product: LoanProduct


@dataclass(frozen=True, slots=True)
class GuaranteeView:
    """What the pair loop reads of a guarantee product."""

    id: str
    guarantor_org_id: str
    coverage_ratio: Decimal
    fee_on_principal: float  # annual fee rate x coverage ratio
    product: GuaranteeProduct


@dataclass(frozen=True)
class Catalogue:
    """Active loan and guarantee products and confirmed agreements, detached from any session."""

    loans: list[LoanProduct]
    guarantees: list[GuaranteeProduct]
    agreements: dict[tuple[str, str], RiskSharingAgreement] = field(default_factory=dict)
    loan_views: list[LoanView] = field(default_factory=list)
    guarantee_views: list[GuaranteeView] = field(default_factory=list)


def load_catalogue(engine: Engine) -> Catalogue:
    """Read the active catalogue from the database."""
    with Session(engine, expire_on_commit=False) as session:
        loans = repository.active_loan_products(session)
        guarantees = repository.active_guarantee_products(session)
        agreements = repository.active_agreements(session)
        session.expunge_all()
    loans = sorted(loans, key=lambda p: p.id)
    guarantees = sorted(guarantees, key=lambda p: p.id)
    return Catalogue(
        loans=loans,
        guarantees=guarantees,
        agreements={(a.lender_org_id, a.guarantor_org_id): a for a in agreements},
        loan_views=[
            LoanView(
                p.id,
                p.lender_org_id,
                float(p.base_rate),
                float(p.risk_premium_per_pd),
                float(p.max_rate),
                float(p.upfront_fee_rate),
                p,
            )
            for p in loans
        ],
        guarantee_views=[
            GuaranteeView(
                p.id,
                p.guarantor_org_id,
                p.coverage_ratio,
                float(p.annual_fee_rate * p.coverage_ratio),
                p,
            )
            for p in guarantees
        ],
    )


class CatalogueCache:
    """The active catalogue, reloaded after ttl_s or after this process changed it."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._value: Catalogue | None = None
        self._loaded_at = 0.0
        self._generation = 0

    def get(self, engine: Engine) -> Catalogue:
        """The catalogue, fresh within ttl_s."""
        with self._lock:
            value, loaded_at, generation = self._value, self._loaded_at, self._generation
        if value is not None and time.monotonic() - loaded_at < self._ttl_s:
            return value
        fresh = load_catalogue(engine)
        with self._lock:
            # A write that happened while loading must not be hidden by this older read.
            if self._generation == generation:
                self._value, self._loaded_at = fresh, time.monotonic()
        return fresh

    def invalidate(self) -> None:
        """Forget the catalogue (this process changed a product or an agreement)."""
        with self._lock:
            self._value = None
            self._generation += 1
