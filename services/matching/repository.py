"""Matching queries of the catalogue: profiles, products, agreements, related groups."""

from __future__ import annotations

from sqlmodel import Session, col, select

from services.matching.models import (
    GuaranteeProduct,
    GuarantorProfile,
    LenderProfile,
    LoanProduct,
    RelatedGroup,
    RelatedMember,
    RiskSharingAgreement,
)


def get_lender(session: Session, org_id: str) -> LenderProfile | None:
    """A lender's profile."""
    return session.get(LenderProfile, org_id)


def get_guarantor(session: Session, org_id: str) -> GuarantorProfile | None:
    """A guarantor's profile."""
    return session.get(GuarantorProfile, org_id)


def lock_lender(session: Session, org_id: str) -> LenderProfile | None:
    """A lender's profile, row-locked until commit (PostgreSQL; SQLite holds the write lock)."""
    stmt = (
        select(LenderProfile)
        .where(LenderProfile.org_id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def lock_guarantor(session: Session, org_id: str) -> GuarantorProfile | None:
    """A guarantor's profile, row-locked until commit; always taken after the lender's lock."""
    stmt = (
        select(GuarantorProfile)
        .where(GuarantorProfile.org_id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def all_lenders(session: Session) -> dict[str, LenderProfile]:
    """Every lender profile by org id."""
    return {p.org_id: p for p in session.exec(select(LenderProfile))}


def all_guarantors(session: Session) -> dict[str, GuarantorProfile]:
    """Every guarantor profile by org id."""
    return {p.org_id: p for p in session.exec(select(GuarantorProfile))}


def active_loan_products(session: Session) -> list[LoanProduct]:
    """Every loan product not retired, all lenders."""
    return list(session.exec(select(LoanProduct).where(LoanProduct.status == "active")))


def active_guarantee_products(session: Session) -> list[GuaranteeProduct]:
    """Every guarantee product not retired, all guarantors."""
    return list(session.exec(select(GuaranteeProduct).where(GuaranteeProduct.status == "active")))


def active_agreements(session: Session) -> list[RiskSharingAgreement]:
    """Every confirmed risk-sharing agreement."""
    return list(
        session.exec(select(RiskSharingAgreement).where(RiskSharingAgreement.status == "active"))
    )


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


def guarantor_products(
    session: Session, org_id: str, after_id: str, limit: int
) -> list[GuaranteeProduct]:
    """A page of a guarantor's products in id order."""
    return list(
        session.exec(
            select(GuaranteeProduct)
            .where(GuaranteeProduct.guarantor_org_id == org_id, col(GuaranteeProduct.id) > after_id)
            .order_by(col(GuaranteeProduct.id))
            .limit(limit + 1)
        )
    )


def get_loan_product(session: Session, product_id: str) -> LoanProduct | None:
    """A loan product by id."""
    return session.get(LoanProduct, product_id)


def get_guarantee_product(session: Session, product_id: str) -> GuaranteeProduct | None:
    """A guarantee product by id."""
    return session.get(GuaranteeProduct, product_id)


def get_agreement(session: Session, agreement_id: str) -> RiskSharingAgreement | None:
    """A risk-sharing agreement by id."""
    return session.get(RiskSharingAgreement, agreement_id)


def agreements_of(
    session: Session, org_id: str, after_id: str, limit: int
) -> list[RiskSharingAgreement]:
    """A page of the agreements an organisation is party to."""
    return list(
        session.exec(
            select(RiskSharingAgreement)
            .where(
                (RiskSharingAgreement.lender_org_id == org_id)
                | (RiskSharingAgreement.guarantor_org_id == org_id),
                col(RiskSharingAgreement.id) > after_id,
            )
            .order_by(col(RiskSharingAgreement.id))
            .limit(limit + 1)
        )
    )


def active_agreement_between(
    session: Session, lender_org_id: str, guarantor_org_id: str
) -> RiskSharingAgreement | None:
    """The confirmed agreement of a lender and a guarantor, if any."""
    return session.exec(
        select(RiskSharingAgreement).where(
            RiskSharingAgreement.lender_org_id == lender_org_id,
            RiskSharingAgreement.guarantor_org_id == guarantor_org_id,
            RiskSharingAgreement.status == "active",
        )
    ).first()


def members_by_firm(
    session: Session, platform_org_id: str, firm_refs: list[str]
) -> dict[str, RelatedMember]:
    """Group memberships of some of a platform's firms."""
    rows = session.exec(
        select(RelatedMember).where(
            RelatedMember.platform_org_id == platform_org_id,
            col(RelatedMember.firm_ref).in_(firm_refs),
        )
    )
    return {m.firm_ref: m for m in rows}


def group_members(session: Session, group_id: str) -> list[str]:
    """The firm_refs of a related group."""
    return list(
        session.exec(select(RelatedMember.firm_ref).where(RelatedMember.group_id == group_id))
    )


def get_group(session: Session, group_id: str) -> RelatedGroup | None:
    """A related group by id."""
    return session.get(RelatedGroup, group_id)
