"""Catalogue use cases: lender and guarantor profiles, products, agreements, related groups."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.matching import repository
from services.matching.catalogue import CatalogueCache
from services.matching.config import MatchingSettings
from services.matching.models import (
    GuaranteeProduct,
    GuarantorProfile,
    LenderProfile,
    LoanProduct,
    RelatedGroup,
    RelatedMember,
    RiskSharingAgreement,
)
from services.matching.schemas import (
    AgreementIn,
    AgreementPublic,
    GuaranteeProductIn,
    GuaranteeProductPublic,
    GuarantorProfileIn,
    GuarantorProfilePublic,
    LenderProfileIn,
    LenderProfilePublic,
    LoanProductIn,
    LoanProductPublic,
    RelatedGroupIn,
    RelatedGroupPublic,
)
from shared.db import utcnow, write_session
from shared.errors import AppError, Conflict, Forbidden, NotFound, field_error
from shared.internal_auth import Principal


def put_lender_profile(
    engine: Engine, settings: MatchingSettings, org_id: str, data: LenderProfileIn
) -> LenderProfilePublic:
    """Create or replace a lender's profile; small loan companies get the regulatory defaults."""
    slc = data.lender_kind == "small_loan_company"
    single = data.single_borrower_limit
    group = data.related_group_limit
    if slc:
        single = single if single is not None else settings.slc_single_borrower_limit
        group = group if group is not None else settings.slc_related_group_limit
    if single is not None and group is not None and single > group:
        raise AppError(
            "single_borrower_limit is above related_group_limit",
            status=422,
            errors=[field_error(("body", "single_borrower_limit"), "above related_group_limit")],
        )
    with write_session(engine) as session:
        profile = repository.lock_lender(session, org_id) or LenderProfile(
            org_id=org_id,
            lender_kind=data.lender_kind,
            name=data.name,
            net_assets_cny=data.net_assets_cny,
            lending_budget_cny=data.lending_budget_cny,
        )
        profile.lender_kind = data.lender_kind
        profile.name = data.name
        profile.net_assets_cny = data.net_assets_cny
        profile.lending_budget_cny = data.lending_budget_cny
        profile.single_borrower_limit = single
        profile.related_group_limit = group
        profile.updated_at = utcnow()
        session.add(profile)
        session.commit()
        return LenderProfilePublic.model_validate(profile, from_attributes=True)


def put_guarantor_profile(
    engine: Engine, settings: MatchingSettings, org_id: str, data: GuarantorProfileIn
) -> GuarantorProfilePublic:
    """Create or replace a guarantor's profile; limits left out take the regulatory defaults."""
    leverage = data.leverage_multiple or (
        settings.guarantor_leverage_small_micro
        if data.serves_small_micro
        else settings.guarantor_leverage
    )
    single = (
        data.single_client_limit
        if data.single_client_limit is not None
        else settings.guarantor_single_client_limit
    )
    group = (
        data.related_group_limit
        if data.related_group_limit is not None
        else settings.guarantor_related_group_limit
    )
    if single > group:
        raise AppError(
            "single_client_limit is above related_group_limit",
            status=422,
            errors=[field_error(("body", "single_client_limit"), "above related_group_limit")],
        )
    with write_session(engine) as session:
        profile = repository.lock_guarantor(session, org_id) or GuarantorProfile(
            org_id=org_id,
            name=data.name,
            net_assets_cny=data.net_assets_cny,
            leverage_multiple=leverage,
            single_client_limit=single,
            related_group_limit=group,
        )
        profile.name = data.name
        profile.net_assets_cny = data.net_assets_cny
        profile.serves_small_micro = data.serves_small_micro
        profile.leverage_multiple = leverage
        profile.single_client_limit = single
        profile.related_group_limit = group
        profile.updated_at = utcnow()
        session.add(profile)
        session.commit()
        return GuarantorProfilePublic.model_validate(profile, from_attributes=True)


def create_loan_product(
    engine: Engine, cache: CatalogueCache, org_id: str, data: LoanProductIn
) -> LoanProductPublic:
    """Publish a loan product for the calling lender."""
    with write_session(engine) as session:
        product = LoanProduct(lender_org_id=org_id, **data.model_dump())
        session.add(product)
        session.commit()
    cache.invalidate()
    return LoanProductPublic.model_validate(product, from_attributes=True)


def create_guarantee_product(
    engine: Engine, cache: CatalogueCache, org_id: str, data: GuaranteeProductIn
) -> GuaranteeProductPublic:
    """Publish a guarantee product for the calling guarantor."""
    with write_session(engine) as session:
        product = GuaranteeProduct(guarantor_org_id=org_id, **data.model_dump())
        session.add(product)
        session.commit()
    cache.invalidate()
    return GuaranteeProductPublic.model_validate(product, from_attributes=True)


def agreement_public(agreement: RiskSharingAgreement) -> AgreementPublic:
    """The public view of an agreement."""
    return AgreementPublic.model_validate(agreement, from_attributes=True)


def propose_agreement(engine: Engine, principal: Principal, data: AgreementIn) -> AgreementPublic:
    """A lender or guarantor proposes a risk-sharing agreement; the other party confirms it."""
    if principal.org_id not in (data.lender_org_id, data.guarantor_org_id):
        raise Forbidden("you can only propose an agreement you are a party to")
    lender_share = next(p.share for p in data.parties if p.role == "lender")
    with write_session(engine) as session:
        missing = []
        if repository.get_lender(session, data.lender_org_id) is None:
            missing.append(field_error(("body", "lender_org_id"), "no lender profile"))
        if repository.get_guarantor(session, data.guarantor_org_id) is None:
            missing.append(field_error(("body", "guarantor_org_id"), "no guarantor profile"))
        if missing:
            raise AppError("both parties need a profile", status=422, errors=missing)
        agreement = RiskSharingAgreement(
            lender_org_id=data.lender_org_id,
            guarantor_org_id=data.guarantor_org_id,
            name=data.name,
            parties=[p.model_dump(mode="json") for p in data.parties],
            lender_share=lender_share,
            proposed_by=principal.org_id,
            status="proposed",
        )
        session.add(agreement)
        session.commit()
        return agreement_public(agreement)


def confirm_agreement(
    engine: Engine, cache: CatalogueCache, principal: Principal, agreement_id: str
) -> AgreementPublic:
    """The counterparty confirms: the agreement becomes active and replaces any earlier one."""
    with write_session(engine) as session:
        agreement = repository.get_agreement(session, agreement_id)
        if agreement is None or principal.org_id not in (
            agreement.lender_org_id,
            agreement.guarantor_org_id,
        ):
            raise NotFound(f"agreement {agreement_id!r} not found")
        if agreement.status != "proposed":
            raise Conflict(f"agreement is {agreement.status}; only a proposed one is confirmed")
        if principal.org_id == agreement.proposed_by:
            raise Conflict("the other party confirms an agreement, not the one who proposed it")
        previous = repository.active_agreement_between(
            session, agreement.lender_org_id, agreement.guarantor_org_id
        )
        now = utcnow()
        if previous is not None:
            previous.status = "superseded"
            previous.updated_at = now
            session.add(previous)
        agreement.status = "active"
        agreement.updated_at = now
        session.add(agreement)
        session.commit()
    cache.invalidate()
    return agreement_public(agreement)


def visible_agreement(engine: Engine, principal: Principal, agreement_id: str) -> AgreementPublic:
    """An agreement the caller is party to."""
    with Session(engine) as session:
        agreement = repository.get_agreement(session, agreement_id)
        if agreement is None or principal.org_id not in (
            agreement.lender_org_id,
            agreement.guarantor_org_id,
        ):
            raise NotFound(f"agreement {agreement_id!r} not found")
        return agreement_public(agreement)


def declare_related_group(
    engine: Engine, principal: Principal, data: RelatedGroupIn
) -> RelatedGroupPublic:
    """Declare firms of the calling platform related (one controller); a firm joins one group."""
    refs = sorted(set(data.firm_refs))
    if len(refs) < 2:
        raise AppError(
            "a related group names at least two different firms",
            status=422,
            errors=[field_error(("body", "firm_refs"), "fewer than two distinct firm_refs")],
        )
    with write_session(engine) as session:
        taken = repository.members_by_firm(session, principal.org_id, refs)
        if taken:
            raise Conflict(
                "firms already in a related group: " + ", ".join(sorted(taken)),
                extra={"firm_refs": sorted(taken)},
            )
        group = RelatedGroup(platform_org_id=principal.org_id, name=data.name, created_at=utcnow())
        session.add(group)
        session.flush()
        session.add_all(
            RelatedMember(platform_org_id=principal.org_id, firm_ref=r, group_id=group.id)
            for r in refs
        )
        session.commit()
        return RelatedGroupPublic(
            id=group.id, name=group.name, firm_refs=refs, created_at=group.created_at
        )


def get_related_group(engine: Engine, principal: Principal, group_id: str) -> RelatedGroupPublic:
    """One of the caller's related groups."""
    with Session(engine) as session:
        group = repository.get_group(session, group_id)
        if group is None or group.platform_org_id != principal.org_id:
            raise NotFound(f"related group {group_id!r} not found")
        refs = sorted(repository.group_members(session, group_id))
        return RelatedGroupPublic(
            id=group.id, name=group.name, firm_refs=refs, created_at=group.created_at
        )


def list_loan_products(engine: Engine, org_id: str, after: str, limit: int) -> list[LoanProduct]:
    """A page of a lender's loan products."""
    with Session(engine) as session:
        return repository.lender_products(session, org_id, after, limit)


def list_guarantee_products(
    engine: Engine, org_id: str, after: str, limit: int
) -> list[GuaranteeProduct]:
    """A page of a guarantor's guarantee products."""
    with Session(engine) as session:
        return repository.guarantor_products(session, org_id, after, limit)
