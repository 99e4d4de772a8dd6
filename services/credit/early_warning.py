"""Early warning: after each ingest chunk, check monitored firms and record each rule hit.

Matching says which firms are monitored for which lender or guarantor (set_monitored); each org
may tune its thresholds (put_rules). Hits are rows of early_warning, one per org, firm, rule and
month, so re-ingesting the same data never rings twice.
"""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from services.credit.early_warning_models import EarlyWarning, EarlyWarningRuleSet, MonitoredFirm
from services.credit.early_warning_rules import MonthFigures, evaluate, merged_rules
from services.credit.models import Firm, FirmMonthMetric
from shared.db import utcnow, write_session
from shared.outbox import emit

log = logging.getLogger("smefin.credit.early_warning")
WINDOW_MONTHS = 7


def _month_add(month: str, delta: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    idx = y * 12 + (m - 1) + delta
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def _last_sale_day(month: str, mask: int) -> date | None:
    if not mask:
        return None
    y, m = int(month[:4]), int(month[5:7])
    day = min(mask.bit_length(), calendar.monthrange(y, m)[1])
    return date(y, m, day)


def recent_months(session: Session, firm_id: int, today: date) -> list[MonthFigures]:
    """The firm's last WINDOW_MONTHS complete months then the month in progress, main currency,
    gaps as zero months."""
    end = f"{today.year:04d}-{today.month:02d}"
    start = _month_add(end, -WINDOW_MONTHS)
    metrics = (
        session.execute(
            select(FirmMonthMetric).where(
                col(FirmMonthMetric.firm_id) == firm_id,
                col(FirmMonthMetric.month) >= start,
                col(FirmMonthMetric.month) <= end,
            )
        )
        .scalars()
        .all()
    )
    by_ccy: dict[str, int] = defaultdict(int)
    for r in metrics:
        by_ccy[r.currency] += r.sales_minor
    if not by_ccy:
        return []
    # Sums across currencies would mix units: the firm's main currency speaks for it.
    main = max(by_ccy, key=lambda c: by_ccy[c])
    found = {r.month: r for r in metrics if r.currency == main}
    out = []
    for i in range(WINDOW_MONTHS + 1):
        month = _month_add(start, i)
        r = found.get(month)
        out.append(
            MonthFigures(
                month=month,
                sales_minor=r.sales_minor if r else 0,
                refund_minor=r.refund_minor if r else 0,
                chargeback_count=r.chargeback_count if r else 0,
                last_sale_day=_last_sale_day(month, r.active_day_mask) if r else None,
            )
        )
    return out


def check_firms(engine: Engine, platform_org_id: str, firm_ids: Iterable[int]) -> int:
    """Evaluate every monitored firm among firm_ids; returns how many new warnings were recorded."""
    ids = sorted(set(firm_ids))
    if not ids:
        return 0
    today = utcnow().date()
    with Session(engine) as session:
        watched = session.execute(
            select(col(Firm.id), col(Firm.firm_ref), col(MonitoredFirm.org_id))
            .join(
                MonitoredFirm,
                (col(MonitoredFirm.platform_org_id) == col(Firm.platform_org_id))
                & (col(MonitoredFirm.firm_ref) == col(Firm.firm_ref)),
            )
            .where(col(Firm.id).in_(ids), col(Firm.platform_org_id) == platform_org_id)
        ).all()
        if not watched:
            return 0
        orgs = {org for _, _, org in watched}
        rule_rows = session.execute(
            select(EarlyWarningRuleSet).where(col(EarlyWarningRuleSet.org_id).in_(orgs))
        ).scalars()
        custom = {r.org_id: r.rules for r in rule_rows}
        figures = {fid: recent_months(session, fid, today) for fid in {w[0] for w in watched}}
    hits: list[EarlyWarning] = []
    for firm_id, firm_ref, org_id in watched:
        if not figures[firm_id]:
            continue
        *months, current = figures[firm_id]
        rules = merged_rules(custom.get(org_id, {}))
        for rule, evidence in evaluate(months, rules, today, current).items():
            hits.append(
                EarlyWarning(
                    org_id=org_id,
                    platform_org_id=platform_org_id,
                    firm_ref=firm_ref,
                    rule=rule,
                    month=months[-1].month,
                    evidence=evidence,
                )
            )
    return _record(engine, hits)


def _record(engine: Engine, hits: list[EarlyWarning]) -> int:
    """Insert the hits not yet recorded (the unique key makes a repeat a no-op)."""
    recorded = 0
    for hit in hits:
        with write_session(engine) as session:
            exists = session.execute(
                select(col(EarlyWarning.id)).where(
                    col(EarlyWarning.org_id) == hit.org_id,
                    col(EarlyWarning.platform_org_id) == hit.platform_org_id,
                    col(EarlyWarning.firm_ref) == hit.firm_ref,
                    col(EarlyWarning.rule) == hit.rule,
                    col(EarlyWarning.month) == hit.month,
                )
            ).first()
            if exists is not None:
                continue
            session.add(hit)
            # The exposed lender or guarantor hears of it (events, webhooks) in this transaction.
            emit(
                session,
                org_ids=[hit.org_id],
                type="firm.early_warning",
                data={
                    "platform_org_id": hit.platform_org_id,
                    "firm_ref": hit.firm_ref,
                    "rule": hit.rule,
                    "month": hit.month,
                    "evidence": hit.evidence,
                },
            )
            try:
                session.commit()
            except IntegrityError:  # a concurrent ingest recorded it first
                session.rollback()
                continue
            recorded += 1
    return recorded


def after_firms(engine: Engine, platform_org_id: str, firm_ids: set[int]) -> None:
    """The ingest hook, given the firms of a chunk just committed; never fails the upload."""
    _safe_check(engine, platform_org_id, firm_ids)


def _safe_check(engine: Engine, platform_org_id: str, firm_ids: set[int]) -> None:
    try:
        check_firms(engine, platform_org_id, firm_ids)
    except Exception:  # the chunk is committed: a warning is best effort
        log.exception("early-warning check failed for platform %s", platform_org_id)


def set_monitored(engine: Engine, platform_org_id: str, firm_ref: str, org_ids: list[str]) -> None:
    """Replace the set of orgs exposed to a firm (empty: the firm is no longer monitored)."""
    with write_session(engine) as session:
        current = session.execute(
            select(MonitoredFirm).where(
                col(MonitoredFirm.platform_org_id) == platform_org_id,
                col(MonitoredFirm.firm_ref) == firm_ref,
            )
        ).scalars()
        have = {m.org_id: m for m in current}
        for org_id, row in have.items():
            if org_id not in org_ids:
                session.delete(row)
        for org_id in set(org_ids) - set(have):
            session.add(
                MonitoredFirm(platform_org_id=platform_org_id, firm_ref=firm_ref, org_id=org_id)
            )
        session.commit()
    with Session(engine) as session:
        firm_id = session.execute(
            select(col(Firm.id)).where(
                col(Firm.platform_org_id) == platform_org_id,
                col(Firm.firm_ref) == firm_ref,
            )
        ).scalar()
    if firm_id is not None and org_ids:
        # Check at once: the firm may already be in trouble when the loan starts.
        _safe_check(engine, platform_org_id, {firm_id})


def get_rules(engine: Engine, org_id: str) -> dict[str, dict[str, Any]]:
    """The org's thresholds in force (its own over the defaults)."""
    with Session(engine) as session:
        row = session.get(EarlyWarningRuleSet, org_id)
        return merged_rules(row.rules if row else {})


def put_rules(engine: Engine, org_id: str, rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Replace the org's own thresholds; returns the rules in force."""
    with write_session(engine) as session:
        row = session.get(EarlyWarningRuleSet, org_id) or EarlyWarningRuleSet(org_id=org_id)
        row.rules = rules
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
    return get_rules(engine, org_id)


def list_warnings(engine: Engine, org_id: str, after_id: int, limit: int) -> list[EarlyWarning]:
    """The org's warnings, newest first (id descending), after a cursor."""
    with Session(engine) as session:
        q = select(EarlyWarning).where(col(EarlyWarning.org_id) == org_id)
        if after_id:
            q = q.where(col(EarlyWarning.id) < after_id)
        q = q.order_by(col(EarlyWarning.id).desc()).limit(limit + 1)
        return list(session.execute(q).scalars())
