"""Credit queries: every SELECT and write of the credit tables lives here."""

from __future__ import annotations

from sqlalchemy import desc
from sqlmodel import Session, col, select

from services.credit.models import (
    CreditScore,
    Firm,
    FirmMonthMetric,
    ModelVersion,
    PlatformSetting,
)


def get_firm(session: Session, platform_org_id: str, firm_ref: str) -> Firm | None:
    """A platform's firm by its reference."""
    return session.exec(
        select(Firm).where(Firm.platform_org_id == platform_org_id, Firm.firm_ref == firm_ref)
    ).first()


def get_platform_setting(session: Session, platform_org_id: str) -> PlatformSetting | None:
    """A platform's ingest settings row, if it ever set them."""
    return session.get(PlatformSetting, platform_org_id)


def list_firms(session: Session, platform_org_id: str, after_id: int, limit: int) -> list[Firm]:
    """A page of a platform's firms in id order (limit+1 rows so the caller sees if more exist)."""
    return list(
        session.exec(
            select(Firm)
            .where(Firm.platform_org_id == platform_org_id, Firm.id > after_id)  # type: ignore[operator]
            .order_by(Firm.id)  # type: ignore[arg-type]
            .limit(limit + 1)
        )
    )


def firm_ids_by_ref(
    session: Session, platform_org_id: str, refs: list[str]
) -> dict[str, tuple[int, str]]:
    """firm_ref -> (id, time zone) for the refs that exist."""
    rows = session.exec(
        select(Firm.firm_ref, Firm.id, Firm.timezone).where(
            Firm.platform_org_id == platform_org_id,
            Firm.firm_ref.in_(refs),  # type: ignore[attr-defined]
        )
    )
    return {ref: (fid, tz) for ref, fid, tz in rows if fid is not None}


def month_metrics(
    session: Session, firm_id: int, before_month: str | None = None, since_month: str | None = None
) -> list[FirmMonthMetric]:
    """A firm's monthly metric rows (all currencies) in month order, optionally bounded."""
    stmt = select(FirmMonthMetric).where(FirmMonthMetric.firm_id == firm_id)
    if before_month is not None:
        stmt = stmt.where(FirmMonthMetric.month < before_month)
    if since_month is not None:
        stmt = stmt.where(FirmMonthMetric.month >= since_month)
    return list(session.exec(stmt.order_by(FirmMonthMetric.month, FirmMonthMetric.currency)))


def latest_score(session: Session, firm_id: int, model_version: str) -> CreditScore | None:
    """The newest stored score of a firm by a model for an as-of month."""
    return session.exec(
        select(CreditScore)
        .where(CreditScore.firm_id == firm_id, CreditScore.model_version == model_version)
        .order_by(desc(col(CreditScore.id)))
        .limit(1)
    ).first()


def champion_model(session: Session) -> ModelVersion | None:
    """The model version that serves scores."""
    return session.exec(select(ModelVersion).where(ModelVersion.status == "champion")).first()


def get_model(session: Session, version: str) -> ModelVersion | None:
    """One model version."""
    return session.get(ModelVersion, version)


def list_models(session: Session) -> list[ModelVersion]:
    """Every model version, newest first."""
    return list(session.exec(select(ModelVersion).order_by(desc(col(ModelVersion.created_at)))))
