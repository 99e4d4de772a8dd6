"""Matching queries: every SELECT and write of the matching tables lives here."""

from __future__ import annotations

from sqlmodel import Session, col, select

from services.matching.models import Application, LenderProfile, LoanProduct, Offer


def get_lender(session: Session, org_id: str) -> LenderProfile | None:
    """A lender's profile."""
    return session.get(LenderProfile, org_id)


def active_loan_products(session: Session) -> list[LoanProduct]:
    """Every loan product not retired, all lenders."""
    return list(session.exec(select(LoanProduct).where(LoanProduct.status == "active")))


def lender_products(session: Session, org_id: str, after_id: str, limit: int) -> list[LoanProduct]:
    """A page of a lender's products in id order."""
    return list(
        session.exec(
            select(LoanProduct)
            .where(LoanProduct.lender_org_id == org_id, col(LoanProduct.id) > after_id)
            .order_by(col(LoanProduct.id))
            .limit(limit + 1)
        )
    )


def get_loan_product(session: Session, product_id: str) -> LoanProduct | None:
    """A loan product by id."""
    return session.get(LoanProduct, product_id)


def get_application(session: Session, application_id: str) -> Application | None:
    """An application by id."""
    return session.get(Application, application_id)


def offers_of(session: Session, application_id: str) -> list[Offer]:
    """An application's offers, best first."""
    return list(
        session.exec(
            select(Offer).where(Offer.application_id == application_id).order_by(col(Offer.rank))
        )
    )


def lenders_by_id(session: Session, org_ids: set[str]) -> dict[str, LenderProfile]:
    """Lender profiles by org id."""
    if not org_ids:
        return {}
    rows = session.exec(select(LenderProfile).where(col(LenderProfile.org_id).in_(org_ids)))
    return {r.org_id: r for r in rows}
