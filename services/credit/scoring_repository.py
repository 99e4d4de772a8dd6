"""Queries of outcomes, batch jobs, monitoring events and scores by model (credit database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import desc, func, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine
from sqlmodel import Session, select

from services.credit.models import (
    CreditScore,
    Firm,
    LoanOutcome,
    ModelMonitoringEvent,
    ScoreBatchJob,
)


def get_outcome(session: Session, loan_id: str) -> LoanOutcome | None:
    """One reported loan outcome."""
    return session.get(LoanOutcome, loan_id)


def outcomes(session: Session) -> list[LoanOutcome]:
    """Every reported outcome, by application date."""
    return list(session.exec(select(LoanOutcome).order_by(LoanOutcome.application_date)))  # type: ignore[arg-type]


def firms_by_refs(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Firm]:
    """(platform, firm_ref) -> firm, for the keys that exist."""
    platforms = {p for p, _ in keys}
    refs = {r for _, r in keys}
    rows = session.exec(
        select(Firm).where(
            Firm.platform_org_id.in_(platforms),  # type: ignore[attr-defined]
            Firm.firm_ref.in_(refs),  # type: ignore[attr-defined]
        )
    )
    return {
        (f.platform_org_id, f.firm_ref): f for f in rows if (f.platform_org_id, f.firm_ref) in keys
    }


def get_job(session: Session, job_id: str) -> ScoreBatchJob | None:
    """One batch scoring job."""
    return session.get(ScoreBatchJob, job_id)


def count_firms(session: Session, platform_org_id: str) -> int:
    """How many firms a platform has."""
    return int(
        session.exec(
            select(func.count()).select_from(Firm).where(Firm.platform_org_id == platform_org_id)
        ).one()
    )


def firm_chunk(
    conn: Connection, platform_org_id: str, after_id: int, limit: int
) -> list[tuple[int, int]]:
    """The next `limit` (firm id, metrics version) of a platform after `after_id`, in id order."""
    rows = conn.execute(
        text(
            "SELECT id, metrics_version FROM firm WHERE platform_org_id = :p AND id > :a "
            "ORDER BY id LIMIT :n"
        ),
        {"p": platform_org_id, "a": after_id, "n": limit},
    )
    return [(int(i), int(v)) for i, v in rows]


def metric_matrix(
    conn: Connection, first_id: int, last_id: int, since_month: str, before_month: str
) -> tuple[np.ndarray, list[str]]:
    """Metric rows of the firms with ids in [first_id, last_id] for months in the window.

    One int64 row per metric row: firm id, month number (year x 12 + month), currency index
    (into the returned list), sales, refunds, chargebacks (minor units), distinct buyers,
    repeat buyers, top-buyer sales (minor units), active-day mask. Integers only, read
    through the driver's cursor, so a chunk turns into an array without per-row Python work.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    where = f"WHERE firm_id BETWEEN {mark} AND {mark} AND month >= {mark} AND month < {mark}"
    params = (first_id, last_id, since_month, before_month)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT DISTINCT currency FROM firm_month_metric {where}", params)  # noqa: S608
        currencies = sorted(str(r[0]) for r in cursor.fetchall())
        if not currencies:
            return np.zeros((0, 10), dtype=np.int64), []
        # Only placeholders are formatted into the SQL; every value is a bound parameter.
        case = " ".join(f"WHEN {mark} THEN {i}" for i in range(len(currencies)))
        sql = (
            "SELECT firm_id, "  # noqa: S608
            "CAST(substr(month, 1, 4) AS INTEGER) * 12 + CAST(substr(month, 6, 2) AS INTEGER), "
            f"CASE currency {case} END, sales_minor, refund_minor, chargeback_minor, "
            "distinct_buyers, repeat_buyers, top_buyer_sales_minor, active_day_mask "
            f"FROM firm_month_metric {where}"
        )
        cursor.execute(sql, (*currencies, *params))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return np.array(rows, dtype=np.int64).reshape(-1, 10), currencies


SCORE_COLUMNS = (
    "firm_id",
    "model_version",
    "as_of",
    "metrics_version",
    "pd_12m",
    "score",
    "grade",
    "reasons",
    "features",
    "created_at",
)


def bind_value(conn: Connection, type_: TypeEngine[Any], value: Any) -> Any:
    """A value as the driver receives it for a column of `type_` (dates as SQLite stores them)."""
    process = type_.bind_processor(conn.dialect)
    return process(value) if process else value


def insert_scores(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert many score rows (values in SCORE_COLUMNS order, dates already bound, JSON as
    text) through the driver's executemany: a batch of 5,000 in one call."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO credit_score ({', '.join(SCORE_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join([mark] * len(SCORE_COLUMNS))})"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def model_scores(session: Session, version: str) -> list[tuple[int, datetime]]:
    """(score, created_at) of every score a model version made."""
    return [
        (int(s), c)
        for s, c in session.exec(
            select(CreditScore.score, CreditScore.created_at).where(
                CreditScore.model_version == version
            )
        )
    ]


def events(session: Session, version: str) -> list[ModelMonitoringEvent]:
    """Monitoring events of a model version, newest month first."""
    return list(
        session.exec(
            select(ModelMonitoringEvent)
            .where(ModelMonitoringEvent.model_version == version)
            .order_by(desc(ModelMonitoringEvent.month), ModelMonitoringEvent.level)
        )
    )


def get_event(
    session: Session, version: str, month: str, level: str
) -> ModelMonitoringEvent | None:
    """The event of a version, month and level, if recorded."""
    return session.exec(
        select(ModelMonitoringEvent).where(
            ModelMonitoringEvent.model_version == version,
            ModelMonitoringEvent.month == month,
            ModelMonitoringEvent.level == level,
        )
    ).first()


def get_score(session: Session, score_id: int) -> CreditScore | None:
    """One stored score."""
    return session.get(CreditScore, score_id)
