"""Credit use cases: firm registry, monthly metrics and scores. One commit per use case."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository
from services.credit.config import CreditSettings
from services.credit.features import MonthFigures, compute_features, month_key, months_back
from services.credit.models import CreditScore, Firm, FirmMonthMetric, PlatformSetting
from services.credit.reference import SIZE_TABLE_VERSION, classify_size, currency_minor_units
from services.credit.schemas import (
    FirmPublic,
    FirmSnapshot,
    FirmUpsert,
    MetricsPublic,
    MonthMetricsPublic,
    PlatformSettingsIn,
    PlatformSettingsPublic,
    ReasonCode,
    ScorePublic,
)
from services.credit.scoring import registry
from services.credit.scoring.explain import reasons_from_contributions
from services.credit.scoring.scale import grade_from_pd, score_from_pd
from shared.db import utcnow, write_session
from shared.errors import Conflict, NotFound, ServiceUnavailable, field_error


def firm_public(firm: Firm) -> FirmPublic:
    """The public view of a firm."""
    return FirmPublic.model_validate(firm, from_attributes=True)


def upsert_firm(
    engine: Engine, settings: CreditSettings, platform_org_id: str, firm_ref: str, data: FirmUpsert
) -> tuple[FirmPublic, bool]:
    """Create or replace a platform's firm; returns the firm and whether it was created."""
    size = classify_size(
        data.industry, data.employees, data.operating_revenue_cny, data.total_assets_cny
    )
    with write_session(engine) as session:
        firm = repository.get_firm(session, platform_org_id, firm_ref)
        created = firm is None
        if firm is None:
            platform_tz = platform_settings(session, settings, platform_org_id).timezone
            firm = Firm(
                platform_org_id=platform_org_id,
                firm_ref=firm_ref,
                industry=data.industry,
                region_code=data.region_code,
                size_class=size,
                size_table_version=SIZE_TABLE_VERSION,
                timezone=data.timezone or platform_tz,
            )
        elif data.timezone and data.timezone != firm.timezone and firm.metrics_version > 0:
            # Months already cut in one zone cannot be re-cut without rescanning raw rows.
            raise Conflict(
                "timezone cannot change once transactions are stored",
                errors=[field_error(("body", "timezone"), f"stays {firm.timezone}")],
            )
        for field in (
            "name",
            "uscc",
            "industry",
            "region_code",
            "registered_on",
            "employees",
            "operating_revenue_cny",
            "total_assets_cny",
        ):
            setattr(firm, field, getattr(data, field))
        if data.timezone:
            firm.timezone = data.timezone
        firm.size_class = size
        firm.size_table_version = SIZE_TABLE_VERSION
        firm.updated_at = utcnow()
        session.add(firm)
        session.commit()
        session.refresh(firm)
        return firm_public(firm), created


def platform_settings(
    session: Session, settings: CreditSettings, platform_org_id: str
) -> PlatformSettingsPublic:
    """A platform's ingest settings, the service default when it never set them."""
    stored = repository.get_platform_setting(session, platform_org_id)
    if stored is None:
        return PlatformSettingsPublic(timezone=settings.default_timezone, is_default=True)
    return PlatformSettingsPublic(timezone=stored.timezone, is_default=False)


def put_platform_settings(
    engine: Engine, platform_org_id: str, data: PlatformSettingsIn
) -> PlatformSettingsPublic:
    """Set a platform's ingest settings; firms created afterwards take its time zone."""
    with write_session(engine) as session:
        stored = repository.get_platform_setting(session, platform_org_id)
        if stored is None:
            stored = PlatformSetting(platform_org_id=platform_org_id, timezone=data.timezone)
        stored.timezone = data.timezone
        stored.updated_at = utcnow()
        session.add(stored)
        session.commit()
    return PlatformSettingsPublic(timezone=data.timezone, is_default=False)


def get_firm(session: Session, platform_org_id: str, firm_ref: str) -> Firm:
    """A platform's firm, or a 404 problem (another platform's firm is not found either)."""
    firm = repository.get_firm(session, platform_org_id, firm_ref)
    if firm is None:
        raise NotFound(f"firm {firm_ref!r} not found")
    return firm


def _major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-currency_minor_units()[currency])


def month_figures(rows: list[FirmMonthMetric]) -> list[MonthFigures]:
    """Metric rows as the float figures features are computed from."""
    return [
        MonthFigures(
            month=r.month,
            currency=r.currency,
            sales=float(_major(r.sales_minor, r.currency)),
            sales_count=r.sales_count,
            refunds=float(_major(r.refund_minor, r.currency)),
            chargebacks=float(_major(r.chargeback_minor, r.currency)),
            chargeback_count=r.chargeback_count,
            distinct_buyers=r.distinct_buyers,
            repeat_buyers=r.repeat_buyers,
            top_buyer_sales=float(_major(r.top_buyer_sales_minor, r.currency)),
            active_days=r.active_day_mask.bit_count(),
        )
        for r in rows
    ]


def metrics(session: Session, firm: Firm, as_of: date | None) -> MetricsPublic:
    """A firm's monthly metrics; with as_of, only months complete before that date."""
    assert firm.id is not None
    rows = repository.month_metrics(
        session, firm.id, before_month=month_key(as_of) if as_of else None
    )
    months = []
    for r in rows:
        cur = r.currency
        sales = _major(r.sales_minor, cur)
        refunds = _major(r.refund_minor, cur)
        chargebacks = _major(r.chargeback_minor, cur)
        months.append(
            MonthMetricsPublic(
                month=r.month,
                currency=cur,
                sales=sales,
                refunds=refunds,
                chargebacks=chargebacks,
                net_sales=sales - refunds - chargebacks,
                payouts=_major(r.payout_minor, cur),
                fees=_major(r.fee_minor, cur),
                orders=r.sales_count,
                average_order_value=(sales / r.sales_count).quantize(Decimal("0.01"))
                if r.sales_count
                else None,
                refund_count=r.refund_count,
                chargeback_count=r.chargeback_count,
                distinct_buyers=r.distinct_buyers,
                repeat_buyers=r.repeat_buyers,
                top_buyer_share=round(r.top_buyer_sales_minor / r.sales_minor, 4)
                if r.sales_minor
                else None,
                active_days=r.active_day_mask.bit_count(),
            )
        )
    return MetricsPublic(firm_ref=firm.firm_ref, as_of=as_of, months=months)


def _score_public(firm: Firm, s: CreditScore) -> ScorePublic:
    return ScorePublic(
        firm_ref=firm.firm_ref,
        pd_12m=s.pd_12m,
        score=s.score,
        grade=s.grade,
        reasons=[ReasonCode(**r) for r in s.reasons],
        model_version=s.model_version,
        as_of=s.as_of,
        features=s.features,
        scored_at=s.created_at,
        score_id=s.id,
    )


def score_firm(
    engine: Engine, platform_org_id: str, firm_ref: str, firm: Firm | None = None
) -> ScorePublic:
    """The firm's current score: served from the stored score unless metrics or model changed.

    A caller that has just read the firm (the route's tenancy lookup) passes it in, so the hot
    path reads only the champion and the latest score.
    """
    today = utcnow().date()
    with Session(engine) as session:
        if firm is None:
            firm = get_firm(session, platform_org_id, firm_ref)
        champion = repository.champion_model(session)
        if champion is None:
            raise ServiceUnavailable("no champion model is registered yet", retry_after_s=5)
        assert firm.id is not None
        cached = repository.latest_score(session, firm.id, champion.version)
        if (
            cached is not None
            and cached.metrics_version == firm.metrics_version
            and cached.as_of == today
        ):
            return _score_public(firm, cached)
        as_of_month = month_key(today)
        rows = repository.month_metrics(session, firm.id, before_month=as_of_month)
    model = registry.load(champion)
    features = compute_features(month_figures(rows), as_of_month)
    X = model.encode([features])
    pd_12m = float(model.predict_pd_matrix(X)[0])
    reasons = reasons_from_contributions(model.features, model.contributions_matrix(X))[0]
    record = CreditScore(
        firm_id=firm.id,
        model_version=champion.version,
        as_of=today,
        metrics_version=firm.metrics_version,
        pd_12m=round(pd_12m, 6),
        score=score_from_pd(pd_12m),
        grade=grade_from_pd(pd_12m),
        reasons=reasons,
        features=dict(features),
        created_at=utcnow(),
    )
    with write_session(engine) as session:
        session.add(record)
        session.commit()
    return _score_public(firm, record)


def snapshot(engine: Engine, platform_org_id: str, firm: Firm) -> FirmSnapshot:
    """Profile, current score and history facts of a firm, for matching to price it."""
    score = score_firm(engine, platform_org_id, firm.firm_ref, firm)
    assert firm.id is not None
    as_of_month = month_key(utcnow().date())
    with Session(engine) as session:
        rows = repository.month_metrics(session, firm.id, before_month=as_of_month)
    cny = [r for r in rows if r.currency == "CNY"]
    selling = [r.month for r in rows if r.sales_count > 0]
    months = 0
    if selling:
        first = selling[0]
        months = (
            (int(as_of_month[:4]) - int(first[:4])) * 12 + int(as_of_month[5:]) - int(first[5:])
        )
    last12 = set(months_back(as_of_month, 12))
    sales_12m = sum(
        (
            _major(r.sales_minor - r.refund_minor - r.chargeback_minor, "CNY")
            for r in cny
            if r.month in last12
        ),
        Decimal(0),
    )
    return FirmSnapshot(
        firm_ref=firm.firm_ref,
        industry=firm.industry,
        region_code=firm.region_code,
        size_class=firm.size_class,
        months_of_history=months,
        sales_12m_cny=sales_12m,
        score=score,
    )
