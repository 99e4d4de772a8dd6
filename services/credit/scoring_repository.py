"""Queries of outcomes, batch jobs, monitoring events and scores by model (credit database)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import desc, func, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine
from sqlmodel import Session, col, select

from services.credit import metric_record
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


def firm_id_range(
    conn: Connection, platform_org_id: str, after_id: int, limit: int
) -> tuple[int, int] | None:
    """First and last id of the next `limit` firms of a platform after `after_id` (None: done)."""
    first, last = conn.execute(
        text(
            "SELECT min(id), max(id) FROM (SELECT id FROM firm "
            "WHERE platform_org_id = :p AND id > :a ORDER BY id LIMIT :n) AS chunk"
        ),
        {"p": platform_org_id, "a": after_id, "n": limit},
    ).one()
    return None if first is None else (int(first), int(last))


def firms_between(
    conn: Connection, platform_org_id: str, first_id: int, last_id: int
) -> list[tuple[int, int]]:
    """(firm id, metrics version) of the platform's firms with ids in [first_id, last_id]."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    # The driver's cursor: thousands of rows without a SQLAlchemy Row object each.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            "SELECT id, metrics_version FROM firm WHERE platform_org_id = "  # noqa: S608
            f"{mark} AND id BETWEEN {mark} AND {mark} ORDER BY id",
            (platform_org_id, first_id, last_id),
        )
        return [(int(i), int(v)) for i, v in cursor.fetchall()]
    finally:
        cursor.close()


METRIC_COLUMNS = 10
# Every scoring record of the window in one value (a single text on SQLite, cast back to the
# bytes it holds; a single bytea on PostgreSQL), and how many rows have none.
_RECORDS_SQL = {
    "sqlite": "SELECT CAST(group_concat(packed, '') AS BLOB), count(*) - count(packed) "
    "FROM firm_month_metric WHERE firm_id BETWEEN ? AND ? AND month >= ? AND month < ?",
    "postgresql": "SELECT string_agg(packed, ''::bytea), count(*) - count(packed) "
    "FROM firm_month_metric WHERE firm_id BETWEEN %s AND %s AND month >= %s AND month < %s",
}
# The rows without a record, with the figures it would hold, in metric_record.pack's order.
_UNPACKED_SQL = {
    "sqlite": "SELECT firm_id, month, currency, sales_minor, refund_minor, chargeback_minor, "
    "top_buyer_sales_minor, distinct_buyers, repeat_buyers, active_day_mask "
    "FROM firm_month_metric WHERE firm_id BETWEEN ? AND ? AND month >= ? AND month < ? "
    "AND packed IS NULL",
    "postgresql": "SELECT firm_id, month, currency, sales_minor, refund_minor, chargeback_minor, "
    "top_buyer_sales_minor, distinct_buyers, repeat_buyers, active_day_mask "
    "FROM firm_month_metric WHERE firm_id BETWEEN %s AND %s AND month >= %s AND month < %s "
    "AND packed IS NULL",
}


def metric_matrix(
    conn: Connection, first_id: int, last_id: int, since_month: str, before_month: str
) -> tuple[np.ndarray, list[str]]:
    """Metric rows of the firms with ids in [first_id, last_id] for months in the window.

    One int64 row per metric row: firm id, month number (year x 12 + month), currency index
    (into the returned list, sorted), sales, refunds, chargebacks (minor units), distinct
    buyers, repeat buyers, top-buyer sales (minor units), active-day mask. Read as the rows'
    scoring records (metric_record.py) in one value, so a chunk becomes an array in C; a row
    without its record (written by an older release) is packed here from its columns.
    """
    params = (first_id, last_id, since_month, before_month)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_RECORDS_SQL[conn.dialect.name], params)
        blob, unpacked = cursor.fetchone()
        parts = [bytes(blob or b"")]
        if unpacked:
            cursor.execute(_UNPACKED_SQL[conn.dialect.name], params)
            parts += [metric_record.pack(*row) for row in cursor.fetchall()]
    finally:
        cursor.close()
    records = metric_record.unpack(b"".join(parts))
    names, index = np.unique(records["currency"], return_inverse=True)
    out = np.empty((len(records), METRIC_COLUMNS), dtype=np.int64)
    out[:, 0] = records["firm_id"]
    out[:, 1] = records["month"]
    out[:, 2] = index.ravel()
    out[:, 3] = records["sales"]
    out[:, 4] = records["refunds"]
    out[:, 5] = records["chargebacks"]
    out[:, 6] = records["distinct_buyers"]
    out[:, 7] = records["repeat_buyers"]
    out[:, 8] = records["top_buyer_sales"]
    out[:, 9] = records["active_day_mask"]
    return out, [name.decode("ascii") for name in names]


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
    # The dialect's own variant of the type: on SQLite it writes the text SQLAlchemy stores
    # (the generic type has no processor, and the driver would adapt the value on every row).
    process = type_.dialect_impl(conn.dialect).bind_processor(conn.dialect)
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


def score_counts(session: Session, version: str) -> list[tuple[str, int, int]]:
    """(calendar month 'YYYY-MM' in UTC, score, how many) of the scores a model version made.

    Counted by the database: what comes back grows with months and distinct scores (a few
    hundred), not with the number of scores stored.
    """
    created: Any = CreditScore.created_at
    if session.get_bind().dialect.name == "postgresql":
        # A timestamptz prints in the session's time zone; months are cut in UTC.
        month = func.to_char(func.timezone("UTC", created), "YYYY-MM")
    else:
        # SQLite holds UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text (shared/db.py).
        month = func.substr(created, 1, 7)
    score = col(CreditScore.score)
    rows = session.exec(
        select(month, score, func.count())
        .where(CreditScore.model_version == version)
        .group_by(month, score)
    )
    return [(str(m), int(s), int(n)) for m, s, n in rows]


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
