"""Matching routes: parse, call the service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import Session

from services.matching import repository, service
from services.matching.deps import CreditDep, EngineDep, LenderDep, PlatformDep, SettingsDep
from services.matching.schemas import (
    AcceptIn,
    ApplicationIn,
    ApplicationPublic,
    LenderProfileIn,
    LenderProfilePublic,
    LoanProductIn,
    LoanProductPublic,
)
from shared.errors import NotFound
from shared.internal_auth import PrincipalDep
from shared.pagination import Page, PageParams, decode_cursor, make_page, page_params

router = APIRouter(prefix="/v1")


@router.put("/profile", response_model=LenderProfilePublic, tags=["profiles"])
def put_profile(
    body: LenderProfileIn, principal: LenderDep, engine: EngineDep
) -> LenderProfilePublic:
    """Create or replace the calling lender's profile."""
    return service.put_lender_profile(engine, principal.org_id, body)


@router.get("/profile", response_model=LenderProfilePublic, tags=["profiles"])
def get_profile(principal: LenderDep, engine: EngineDep) -> LenderProfilePublic:
    """The calling lender's profile."""
    with Session(engine) as session:
        profile = repository.get_lender(session, principal.org_id)
    if profile is None:
        raise NotFound("no profile yet: PUT /v1/profile first")
    return LenderProfilePublic.model_validate(profile, from_attributes=True)


@router.post("/loan-products", response_model=LoanProductPublic, status_code=201, tags=["products"])
def post_loan_product(
    body: LoanProductIn, principal: LenderDep, engine: EngineDep
) -> LoanProductPublic:
    """Publish a loan product."""
    return service.create_loan_product(engine, principal.org_id, body)


@router.get("/loan-products", response_model=Page[LoanProductPublic], tags=["products"])
def list_loan_products(
    principal: LenderDep, engine: EngineDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[LoanProductPublic]:
    """The calling lender's loan products."""
    rows = service.list_products(
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
    "/applications", response_model=ApplicationPublic, status_code=201, tags=["applications"]
)
def post_application(
    body: ApplicationIn,
    principal: PlatformDep,
    engine: EngineDep,
    settings: SettingsDep,
    credit: CreditDep,
) -> ApplicationPublic:
    """Apply for a firm: ranked offers and the reasons every other product was not offered."""
    return service.create_application(engine, settings, credit, principal, body)


@router.get(
    "/applications/{application_id}", response_model=ApplicationPublic, tags=["applications"]
)
def get_application(
    application_id: str, principal: PrincipalDep, engine: EngineDep
) -> ApplicationPublic:
    """One of the caller's applications."""
    return service.get_application(engine, principal, application_id)


@router.post(
    "/applications/{application_id}/accept", response_model=ApplicationPublic, tags=["applications"]
)
def accept(
    application_id: str, body: AcceptIn, principal: PlatformDep, engine: EngineDep
) -> ApplicationPublic:
    """Take one offer of an application."""
    return service.accept_offer(engine, principal, application_id, body.offer_id)
