"""Catalogue routes: profiles, loan and guarantee products, agreements, related groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from sqlmodel import Session

from services.matching import repository, service
from services.matching.deps import (
    CacheDep,
    EngineDep,
    GuarantorDep,
    LenderDep,
    PartyDep,
    PlatformDep,
    SettingsDep,
    parse_body,
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
from shared.errors import Forbidden, NotFound
from shared.pagination import Page, PageParams, decode_cursor, make_page, page_params

router = APIRouter(prefix="/v1")
PageDep = Annotated[PageParams, Depends(page_params)]
ProfilePublic = LenderProfilePublic | GuarantorProfilePublic


@router.put("/profile", response_model=ProfilePublic, tags=["profiles"])
def put_profile(
    body: Annotated[dict[str, Any], Body()],
    principal: PartyDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> ProfilePublic:
    """Create or replace the caller's profile (a lender's or a guarantor's, by its kind)."""
    if principal.kind == "lender":
        return service.put_lender_profile(
            engine, settings, principal.org_id, parse_body(LenderProfileIn, body)
        )
    if principal.kind == "guarantor":
        return service.put_guarantor_profile(
            engine, settings, principal.org_id, parse_body(GuarantorProfileIn, body)
        )
    raise Forbidden("only lenders and guarantors have a profile")


@router.get("/profile", response_model=ProfilePublic, tags=["profiles"])
def get_profile(principal: PartyDep, engine: EngineDep) -> ProfilePublic:
    """The caller's profile, with the capacity in use."""
    with Session(engine) as session:
        if principal.kind == "guarantor":
            guarantor = repository.get_guarantor(session, principal.org_id)
            if guarantor is not None:
                return GuarantorProfilePublic.model_validate(guarantor, from_attributes=True)
        else:
            lender = repository.get_lender(session, principal.org_id)
            if lender is not None:
                return LenderProfilePublic.model_validate(lender, from_attributes=True)
    raise NotFound("no profile yet: PUT /v1/profile first")


@router.post("/loan-products", response_model=LoanProductPublic, status_code=201, tags=["products"])
def post_loan_product(
    body: LoanProductIn, principal: LenderDep, engine: EngineDep, cache: CacheDep
) -> LoanProductPublic:
    """Publish a loan product."""
    return service.create_loan_product(engine, cache, principal.org_id, body)


@router.get("/loan-products", response_model=Page[LoanProductPublic], tags=["products"])
def list_loan_products(
    principal: LenderDep, engine: EngineDep, page: PageDep
) -> Page[LoanProductPublic]:
    """The calling lender's loan products."""
    rows = service.list_loan_products(
        engine, principal.org_id, decode_cursor(page.cursor) or "", page.limit
    )
    result = make_page(rows, page.limit, lambda p: p.id)
    return Page[LoanProductPublic](
        items=[LoanProductPublic.model_validate(p, from_attributes=True) for p in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/loan-products/{product_id}", response_model=LoanProductPublic, tags=["products"])
def get_loan_product(product_id: str, principal: LenderDep, engine: EngineDep) -> LoanProductPublic:
    """One of the calling lender's loan products."""
    with Session(engine) as session:
        product = repository.get_loan_product(session, product_id)
    if product is None or product.lender_org_id != principal.org_id:
        raise NotFound(f"loan product {product_id!r} not found")
    return LoanProductPublic.model_validate(product, from_attributes=True)


@router.post(
    "/guarantee-products", response_model=GuaranteeProductPublic, status_code=201, tags=["products"]
)
def post_guarantee_product(
    body: GuaranteeProductIn, principal: GuarantorDep, engine: EngineDep, cache: CacheDep
) -> GuaranteeProductPublic:
    """Publish a guarantee product."""
    return service.create_guarantee_product(engine, cache, principal.org_id, body)


@router.get("/guarantee-products", response_model=Page[GuaranteeProductPublic], tags=["products"])
def list_guarantee_products(
    principal: GuarantorDep, engine: EngineDep, page: PageDep
) -> Page[GuaranteeProductPublic]:
    """The calling guarantor's guarantee products."""
    rows = service.list_guarantee_products(
        engine, principal.org_id, decode_cursor(page.cursor) or "", page.limit
    )
    result = make_page(rows, page.limit, lambda p: p.id)
    return Page[GuaranteeProductPublic](
        items=[
            GuaranteeProductPublic.model_validate(p, from_attributes=True) for p in result.items
        ],
        next_cursor=result.next_cursor,
    )


@router.get(
    "/guarantee-products/{guarantee_product_id}",
    response_model=GuaranteeProductPublic,
    tags=["products"],
)
def get_guarantee_product(
    guarantee_product_id: str, principal: GuarantorDep, engine: EngineDep
) -> GuaranteeProductPublic:
    """One of the calling guarantor's guarantee products."""
    with Session(engine) as session:
        product = repository.get_guarantee_product(session, guarantee_product_id)
    if product is None or product.guarantor_org_id != principal.org_id:
        raise NotFound(f"guarantee product {guarantee_product_id!r} not found")
    return GuaranteeProductPublic.model_validate(product, from_attributes=True)


@router.post(
    "/risk-sharing-agreements", response_model=AgreementPublic, status_code=201, tags=["agreements"]
)
def post_agreement(body: AgreementIn, principal: PartyDep, engine: EngineDep) -> AgreementPublic:
    """Propose a risk-sharing agreement (loss shares of named parties summing to 100%)."""
    return service.propose_agreement(engine, principal, body)


@router.get("/risk-sharing-agreements", response_model=Page[AgreementPublic], tags=["agreements"])
def list_agreements(principal: PartyDep, engine: EngineDep, page: PageDep) -> Page[AgreementPublic]:
    """The agreements the caller is party to."""
    with Session(engine) as session:
        rows = repository.agreements_of(
            session, principal.org_id, decode_cursor(page.cursor) or "", page.limit
        )
    result = make_page(rows, page.limit, lambda a: a.id)
    return Page[AgreementPublic](
        items=[service.agreement_public(a) for a in result.items], next_cursor=result.next_cursor
    )


@router.get(
    "/risk-sharing-agreements/{agreement_id}", response_model=AgreementPublic, tags=["agreements"]
)
def get_agreement(agreement_id: str, principal: PartyDep, engine: EngineDep) -> AgreementPublic:
    """One agreement the caller is party to."""
    return service.visible_agreement(engine, principal, agreement_id)


@router.post(
    "/risk-sharing-agreements/{agreement_id}/confirm",
    response_model=AgreementPublic,
    tags=["agreements"],
)
def confirm_agreement(
    agreement_id: str, principal: PartyDep, engine: EngineDep, cache: CacheDep
) -> AgreementPublic:
    """The counterparty confirms a proposed agreement; it then backs guaranteed offers."""
    return service.confirm_agreement(engine, cache, principal, agreement_id)


@router.post(
    "/related-party-groups", response_model=RelatedGroupPublic, status_code=201, tags=["firms"]
)
def post_related_group(
    body: RelatedGroupIn, principal: PlatformDep, engine: EngineDep
) -> RelatedGroupPublic:
    """Declare some of the caller's firms related: concentration limits apply to the group."""
    return service.declare_related_group(engine, principal, body)


@router.get("/related-party-groups/{group_id}", response_model=RelatedGroupPublic, tags=["firms"])
def get_related_group(
    group_id: str, principal: PlatformDep, engine: EngineDep
) -> RelatedGroupPublic:
    """One of the caller's related-party groups."""
    return service.get_related_group(engine, principal, group_id)
