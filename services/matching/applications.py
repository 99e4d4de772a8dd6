"""Applications: score snapshot, offers ranked by all-in cost, reasons, and accepting one offer."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.matching import capacity as cap
from services.matching import events, ledger, repository, repository_deals
from services.matching.catalogue import CatalogueCache
from services.matching.config import MatchingSettings
from services.matching.credit_client import CreditClient
from services.matching.eligibility import FirmFacts
from services.matching.models import Application, Offer, Referral
from services.matching.offers import Capacities, Evaluation, evaluate
from services.matching.schemas_deals import (
    ApplicationIn,
    ApplicationPublic,
    NotOffered,
    OfferPublic,
)
from shared.db import utcnow, write_session
from shared.domain_metrics import APPLICATIONS_CREATED, OFFERS_MADE
from shared.errors import AppError, Conflict, NotFound
from shared.internal_auth import Principal
from shared.outbox import emit

# Stored rates have 6 places and money 2: answers show them the same way they read back later.
RATE_PLACES = Decimal("0.000001")
CENT = Decimal("0.01")


def firm_facts(data: ApplicationIn, snapshot: dict[str, Any]) -> FirmFacts:
    """What eligibility and pricing read, from the request and credit's snapshot."""
    try:
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
    except (KeyError, TypeError, ValueError) as exc:
        raise AppError(f"credit sent an unusable snapshot ({exc!r})", status=502) from exc


def capacities(session: Session, platform_org_id: str, firm_ref: str) -> Capacities:
    """Every holder's limits and its exposure to this firm and its group, read now."""
    lender_exp, guarantor_exp, in_group = repository_deals.exposures(
        session, platform_org_id, firm_ref
    )
    return Capacities(
        lenders={k: cap.lender_limits(p) for k, p in repository.all_lenders(session).items()},
        guarantors={
            k: cap.guarantor_limits(p) for k, p in repository.all_guarantors(session).items()
        },
        lender_exposure=lender_exp,
        guarantor_exposure=guarantor_exp,
        in_group=in_group,
    )


def _offers(application: Application, evaluation: Evaluation, expires: datetime) -> list[Offer]:
    return [
        Offer(
            application_id=application.id,
            loan_product_id=p.option.loan.id,
            lender_org_id=p.option.loan.lender_org_id,
            guarantee_product_id=p.option.guarantee.id if p.option.guarantee else None,
            guarantor_org_id=p.option.guarantee.guarantor_org_id if p.option.guarantee else None,
            agreement_id=p.option.agreement_id,
            rank=rank,
            amount_cny=application.amount_cny,
            term_months=application.term_months,
            pd_12m=p.pd_12m,
            lender_loss_share=p.option.lender_share.quantize(RATE_PLACES),
            annual_rate=p.quote.annual_rate.quantize(RATE_PLACES),
            upfront_fee_cny=p.quote.upfront_fee,
            guaranteed_cny=p.guaranteed_cny,
            guarantee_fee_cny=p.quote.guarantee_fee,
            monthly_payment_cny=p.quote.monthly_payment,
            total_cost_cny=p.quote.total_cost,
            all_in_annual_cost=p.quote.all_in_annual_cost.quantize(RATE_PLACES),
            expires_at=expires,
            created_at=application.created_at,
        )
        for rank, p in enumerate(evaluation.offers, start=1)
    ]


def offers_for_snapshot(
    engine: Engine,
    settings: MatchingSettings,
    cache: CatalogueCache,
    principal: Principal,
    data: ApplicationIn,
    snapshot: dict[str, Any],
) -> ApplicationPublic:
    """Everything after the credit call: evaluate every combination, store, answer."""
    facts = firm_facts(data, snapshot)
    now = utcnow()
    catalogue = cache.get(engine)
    with Session(engine) as session:
        caps = capacities(session, principal.org_id, data.firm_ref)
    evaluation = evaluate(catalogue, facts, now, caps, settings.max_offers)
    application = Application(
        platform_org_id=principal.org_id,
        firm_ref=data.firm_ref,
        amount_cny=data.amount_cny.quantize(CENT),
        term_months=data.term_months,
        purpose=data.purpose,
        status="offered" if evaluation.offers else "no_offer",
        snapshot=snapshot,
        not_offered=evaluation.not_offered,
        created_at=now,
    )
    offers = _offers(application, evaluation, now + timedelta(hours=settings.offer_ttl_hours))
    with write_session(engine) as session:
        # One flush: the unit of work inserts the application before its offers.
        session.add(application)
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


def create_application(
    engine: Engine,
    settings: MatchingSettings,
    cache: CatalogueCache,
    credit: CreditClient,
    principal: Principal,
    data: ApplicationIn,
) -> ApplicationPublic:
    """Score the firm (credit), evaluate every active product and pair, rank, say why not."""
    snapshot = credit.snapshot(principal, data.firm_ref)
    return offers_for_snapshot(engine, settings, cache, principal, data, snapshot)


def application_public(
    application: Application, offers: list[Offer], referral_id: str | None = None
) -> ApplicationPublic:
    """The public view of an application and its offers."""
    score = application.snapshot.get("score", {})
    # Every field comes from our own rows, already typed: constructing without re-validation
    # matters when up to thousands of combinations were not offered.
    return ApplicationPublic.model_construct(
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
        not_offered=cast(list[NotOffered], application.not_offered),
        referral_id=referral_id,
        created_at=application.created_at,
    )


def get_application(engine: Engine, principal: Principal, application_id: str) -> ApplicationPublic:
    """One of the caller's applications (404 for anyone else's)."""
    with Session(engine) as session:
        application = repository_deals.get_application(session, application_id)
        if application is None or (
            application.platform_org_id != principal.org_id and not principal.is_admin
        ):
            raise NotFound(f"application {application_id!r} not found")
        referral = repository_deals.referral_of_application(session, application_id)
        return application_public(
            application,
            repository_deals.offers_of(session, application_id),
            referral.id if referral else None,
        )


def accept_offer(
    engine: Engine,
    settings: MatchingSettings,
    principal: Principal,
    application_id: str,
    offer_id: str,
) -> ApplicationPublic:
    """Take one offer: reserve its capacity atomically and refer it to the lender (and guarantor).

    Capacity that is not there is a 409 with the reasons; the application stays open, so the
    firm can take another of its offers.
    """
    now = utcnow()
    with write_session(engine) as session:
        application = repository_deals.lock_application(session, application_id)
        if application is None or application.platform_org_id != principal.org_id:
            raise NotFound(f"application {application_id!r} not found")
        if application.status != "offered":
            raise Conflict(f"application is {application.status}; only an offered one can accept")
        offers = repository_deals.offers_of(session, application_id)
        chosen = next((o for o in offers if o.id == offer_id), None)
        if chosen is None:
            raise NotFound(f"offer {offer_id!r} not found on this application")
        if chosen.expires_at <= now:
            raise Conflict("offer has expired; apply again for fresh offers")
        referral = accept_locked(
            session, settings, application, offers, chosen, principal.org_id, now
        )
        session.commit()
        return application_public(application, offers, referral.id)


def accept_locked(
    session: Session,
    settings: MatchingSettings,
    application: Application,
    offers: list[Offer],
    chosen: Offer,
    actor_org_id: str,
    now: datetime,
) -> Referral:
    """Inside the caller's transaction (application locked): reserve, lapse the rest, refer.

    Shared by a firm's acceptance and by applying a batch allocation run, so both leave the
    ledger, the offers and the referral exactly alike.
    """
    reservation = ledger.reserve(session, application, chosen, now, settings.reservation_ttl_hours)
    for offer in offers:
        offer.status = "accepted" if offer.id == chosen.id else "lapsed"
        session.add(offer)
    application.status = "accepted"
    session.add(application)
    referral = Referral(
        application_id=application.id,
        offer_id=chosen.id,
        reservation_id=reservation.id,
        platform_org_id=application.platform_org_id,
        firm_ref=application.firm_ref,
        lender_org_id=chosen.lender_org_id,
        guarantor_org_id=chosen.guarantor_org_id,
        status="accepted",
        amount_cny=chosen.amount_cny,
        term_months=chosen.term_months,
        application_date=application.created_at.date(),
        created_at=now,
        updated_at=now,
    )
    session.add(referral)
    session.flush()
    events.record(session, "offer.accepted", referral, actor_org_id, offer_id=chosen.id)
    # Referred at once: the lender (and guarantor) see it in their queue from now on.
    referral.status = "referred"
    events.record(
        session,
        "referral.referred",
        referral,
        actor_org_id,
        lender_org_id=referral.lender_org_id,
        guarantor_org_id=referral.guarantor_org_id,
    )
    return referral
