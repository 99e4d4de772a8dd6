"""Matching use cases: lender profiles, loan products, applications and offers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.matching import repository
from services.matching.config import MatchingSettings
from services.matching.credit_client import CreditClient
from services.matching.eligibility import FirmFacts, product_reasons
from services.matching.models import Application, LenderProfile, LoanProduct, Offer
from services.matching.pricing import annual_rate_for, quote
from services.matching.schemas import (
    ApplicationIn,
    ApplicationPublic,
    LenderProfileIn,
    LenderProfilePublic,
    LoanProductIn,
    LoanProductPublic,
    NotOffered,
    OfferPublic,
)
from shared.db import utcnow, write_session
from shared.domain_metrics import APPLICATIONS_CREATED, OFFERS_MADE
from shared.errors import Conflict, NotFound
from shared.internal_auth import Principal
from shared.outbox import emit

# Small loan companies: one borrower <= 10% of net assets, with related parties <= 15%
# (NFRA interim measures, 2025). Banks follow their own prudential limits.
SLC_SINGLE_BORROWER = Decimal("0.10")
SLC_RELATED_GROUP = Decimal("0.15")


def put_lender_profile(engine: Engine, org_id: str, data: LenderProfileIn) -> LenderProfilePublic:
    """Create or replace a lender's profile; small loan companies get their regulatory limits."""
    with write_session(engine) as session:
        profile = repository.get_lender(session, org_id) or LenderProfile(
            org_id=org_id, **data.model_dump()
        )
        for key, value in data.model_dump().items():
            setattr(profile, key, value)
        slc = data.lender_kind == "small_loan_company"
        profile.single_borrower_limit = SLC_SINGLE_BORROWER if slc else None
        profile.related_group_limit = SLC_RELATED_GROUP if slc else None
        profile.updated_at = utcnow()
        session.add(profile)
        session.commit()
        return LenderProfilePublic.model_validate(profile, from_attributes=True)


def create_loan_product(engine: Engine, org_id: str, data: LoanProductIn) -> LoanProductPublic:
    """Publish a loan product for the calling lender."""
    with write_session(engine) as session:
        product = LoanProduct(lender_org_id=org_id, **data.model_dump())
        session.add(product)
        session.commit()
        return LoanProductPublic.model_validate(product, from_attributes=True)


def _facts(data: ApplicationIn, snapshot: dict[str, Any]) -> FirmFacts:
    return FirmFacts(
        amount=data.amount_cny,
        term_months=data.term_months,
        pd_12m=float(snapshot["score"]["pd_12m"]),
        industry=snapshot["industry"],
        region_code=snapshot["region_code"],
        size_class=snapshot["size_class"],
        months_of_history=int(snapshot["months_of_history"]),
        sales_12m=Decimal(str(snapshot["sales_12m_cny"])),
    )


def create_application(
    engine: Engine,
    settings: MatchingSettings,
    credit: CreditClient,
    principal: Principal,
    data: ApplicationIn,
) -> ApplicationPublic:
    """Score the firm, evaluate every active product, rank offers by all-in cost, say why not."""
    snapshot = credit.snapshot(principal, data.firm_ref)
    facts = _facts(data, snapshot)
    now = utcnow()
    with Session(engine) as session:
        products = repository.active_loan_products(session)
    priced: list[tuple[Decimal, LoanProduct, Any]] = []
    not_offered: list[dict[str, Any]] = []
    for product in products:
        reasons = product_reasons(product, facts, now)
        if reasons:
            not_offered.append(
                {
                    "loan_product_id": product.id,
                    "lender_org_id": product.lender_org_id,
                    "reasons": reasons,
                }
            )
            continue
        rate = annual_rate_for(
            base_rate=product.base_rate,
            premium_per_pd=product.risk_premium_per_pd,
            max_rate=product.max_rate,
            pd_priced=facts.pd_12m,
        )
        q = quote(
            amount=data.amount_cny,
            term_months=data.term_months,
            annual_rate=rate,
            upfront_fee_rate=product.upfront_fee_rate,
        )
        priced.append((q.all_in_annual_cost, product, q))
    priced.sort(key=lambda item: (item[0], item[1].id))
    application = Application(
        platform_org_id=principal.org_id,
        firm_ref=data.firm_ref,
        amount_cny=data.amount_cny,
        term_months=data.term_months,
        purpose=data.purpose,
        status="offered" if priced else "no_offer",
        snapshot=snapshot,
        not_offered=not_offered,
        created_at=now,
    )
    expires = now + timedelta(hours=settings.offer_ttl_hours)
    offers = [
        Offer(
            application_id=application.id,
            loan_product_id=product.id,
            lender_org_id=product.lender_org_id,
            rank=rank,
            amount_cny=data.amount_cny,
            term_months=data.term_months,
            annual_rate=q.annual_rate,
            upfront_fee_cny=q.upfront_fee,
            monthly_payment_cny=q.monthly_payment,
            total_cost_cny=q.total_cost,
            all_in_annual_cost=q.all_in_annual_cost,
            expires_at=expires,
            created_at=now,
        )
        for rank, (_, product, q) in enumerate(priced, start=1)
    ]
    with write_session(engine) as session:
        session.add(application)
        session.flush()
        session.add_all(offers)
        emit(
            session,
            org_ids=[principal.org_id],
            type="application.created",
            data={
                "application_id": application.id,
                "firm_ref": application.firm_ref,
                "status": application.status,
                "offers": len(offers),
            },
        )
        session.commit()
    APPLICATIONS_CREATED.inc()
    OFFERS_MADE.inc(len(offers))
    return application_public(application, offers)


def application_public(application: Application, offers: list[Offer]) -> ApplicationPublic:
    """The public view of an application and its offers."""
    score = application.snapshot.get("score", {})
    return ApplicationPublic(
        id=application.id,
        firm_ref=application.firm_ref,
        amount_cny=application.amount_cny,
        term_months=application.term_months,
        purpose=application.purpose,
        status=application.status,
        pd_12m=score.get("pd_12m"),
        grade=score.get("grade"),
        model_version=score.get("model_version"),
        offers=[OfferPublic.model_validate(o, from_attributes=True) for o in offers],
        not_offered=[NotOffered(**n) for n in application.not_offered],
        created_at=application.created_at,
    )


def get_application(engine: Engine, principal: Principal, application_id: str) -> ApplicationPublic:
    """One of the caller's applications (404 for anyone else's)."""
    with Session(engine) as session:
        application = repository.get_application(session, application_id)
        if application is None or (
            application.platform_org_id != principal.org_id and not principal.is_admin
        ):
            raise NotFound(f"application {application_id!r} not found")
        return application_public(application, repository.offers_of(session, application_id))


def accept_offer(
    engine: Engine, principal: Principal, application_id: str, offer_id: str
) -> ApplicationPublic:
    """The firm takes one offer; the others lapse. Only an open, unexpired offer can be taken."""
    with write_session(engine) as session:
        application = repository.get_application(session, application_id)
        if application is None or application.platform_org_id != principal.org_id:
            raise NotFound(f"application {application_id!r} not found")
        if application.status != "offered":
            raise Conflict(f"application is {application.status}; only an offered one can accept")
        offers = repository.offers_of(session, application_id)
        chosen = next((o for o in offers if o.id == offer_id), None)
        if chosen is None:
            raise NotFound(f"offer {offer_id!r} not found on this application")
        if chosen.expires_at <= utcnow():
            raise Conflict("offer has expired")
        for offer in offers:
            offer.status = "accepted" if offer.id == offer_id else "lapsed"
            session.add(offer)
        application.status = "accepted"
        session.add(application)
        emit(
            session,
            org_ids=[application.platform_org_id, chosen.lender_org_id],
            type="offer.accepted",
            data={
                "application_id": application.id,
                "offer_id": chosen.id,
                "firm_ref": application.firm_ref,
                "lender_org_id": chosen.lender_org_id,
                "amount_cny": chosen.amount_cny,
            },
        )
        session.commit()
        return application_public(application, offers)


def list_products(engine: Engine, org_id: str, after: str, limit: int) -> list[LoanProduct]:
    """A page of a lender's products."""
    with Session(engine) as session:
        return repository.lender_products(session, org_id, after, limit)
