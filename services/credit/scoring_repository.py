"""Queries of outcomes, batch jobs, monitoring events and scores by model (credit database)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from sqlalchemy import desc, func, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine
from sqlmodel import Session, col, select

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
_PACKED_COLUMNS = 7
_LOW32 = (1 << 32) - 1


def metric_matrix(
    conn: Connection, first_id: int, last_id: int, since_month: str, before_month: str
) -> tuple[np.ndarray, list[str]]:
    """Metric rows of the firms with ids in [first_id, last_id] for months in the window.

    One int64 row per metric row: firm id, month number (year x 12 + month), currency index
    (into the returned list, sorted), sales, refunds, chargebacks (minor units), distinct
    buyers, repeat buyers, top-buyer sales (minor units), active-day mask. Read through the
    driver's cursor, so a chunk turns into an array without per-row Python work.
    """
    params = (first_id, last_id, since_month, before_month)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "sqlite":
            return _metric_matrix_sqlite(cursor, params)
        return _metric_matrix_postgres(cursor, params)
    finally:
        cursor.close()


# SQLite: each metric row as one fixed-width ASCII record, its month and currency as stored
# ("2026-03", "CNY") and then seven integers in 16 hex digits (two's complement).
_RECORD_HEX = _PACKED_COLUMNS * 16
_RECORD = 7 + 3 + _RECORD_HEX
_DIGIT = ord("0")
_SQLITE_RECORDS = (
    "SELECT group_concat(month || currency || "  # noqa: S608 - no value is formatted in
    f"printf('{'%016X' * _PACKED_COLUMNS}', firm_id, sales_minor, refund_minor, "
    "chargeback_minor, distinct_buyers * 4294967296 + repeat_buyers, "
    "top_buyer_sales_minor, active_day_mask), '') FROM firm_month_metric "
    "WHERE firm_id BETWEEN ? AND ? AND month >= ? AND month < ? GROUP BY firm_id"
)


def _metric_matrix_sqlite(cursor: Any, params: tuple[Any, ...]) -> tuple[np.ndarray, list[str]]:
    # A firm's records come back as one text (far fewer Python objects than a tuple per row),
    # and SQLite formats stored columns cheaper than it computes with them: the month number
    # and currency index are worked out by numpy from the text, in C.
    cursor.execute(_SQLITE_RECORDS, params)
    text = "".join([t for (t,) in cursor.fetchall()]).encode("ascii")
    records = np.frombuffer(text, dtype=np.uint8)
    if records.size % _RECORD:
        raise ValueError("firm_month_metric holds a month or currency of an unexpected width")
    records = records.reshape(-1, _RECORD)
    digits = records[:, :7].astype(np.int64) - _DIGIT  # "YYYY-MM"
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    codes = np.ascontiguousarray(records[:, 7:10]).view("S3").ravel()
    names, index = np.unique(codes, return_inverse=True)
    hexed = bytes.fromhex(records[:, 10:].tobytes().decode("ascii"))
    values = np.frombuffer(hexed, dtype=">i8").astype(np.int64).reshape(-1, _PACKED_COLUMNS)
    out = np.empty((len(values), METRIC_COLUMNS), dtype=np.int64)
    out[:, 0] = values[:, 0]
    out[:, 1] = year * 12 + digits[:, 5] * 10 + digits[:, 6]
    out[:, 2] = index.ravel()
    out[:, 3:6] = values[:, 1:4]
    out[:, 6] = values[:, 4] >> 32
    out[:, 7] = values[:, 4] & _LOW32
    out[:, 8] = values[:, 5]
    out[:, 9] = values[:, 6]
    return out, [name.decode() for name in names]


def _metric_matrix_postgres(cursor: Any, params: tuple[Any, ...]) -> tuple[np.ndarray, list[str]]:
    where = "WHERE firm_id BETWEEN %s AND %s AND month >= %s AND month < %s"
    cursor.execute(f"SELECT DISTINCT currency FROM firm_month_metric {where}", params)  # noqa: S608
    currencies = sorted(str(r[0]) for r in cursor.fetchall())
    if not currencies:
        return np.zeros((0, METRIC_COLUMNS), dtype=np.int64), []
    since_month = params[2]
    since = int(since_month[:4]) * 12 + int(since_month[5:7])
    month = "CAST(substr(month, 1, 4) AS INTEGER) * 12 + CAST(substr(month, 6, 2) AS INTEGER)"
    # Only placeholders are formatted into the SQL; every value is a bound parameter.
    case = " ".join(f"WHEN %s THEN {i}" for i in range(len(currencies)))
    # Most of a read is the driver making a Python int of every value: small values travel
    # in pairs. Month (offset in the window) and currency take the high 32 bits of the day
    # mask (31 days); repeat buyers the low 32 bits of distinct buyers (both counts of buyers
    # in one month, far below 2^31).
    cursor.execute(
        f"SELECT firm_id, (({month} - %s) * 65536 + CASE currency {case} END) * 4294967296 "  # noqa: S608
        "+ active_day_mask, sales_minor, refund_minor, chargeback_minor, "
        "distinct_buyers * 4294967296 + repeat_buyers, top_buyer_sales_minor "
        f"FROM firm_month_metric {where}",
        (since, *currencies, *params),
    )
    rows = cursor.fetchall()
    # Flattened in C: no intermediate array of Python tuples.
    packed = np.fromiter(
        itertools.chain.from_iterable(rows), dtype=np.int64, count=len(rows) * _PACKED_COLUMNS
    ).reshape(-1, _PACKED_COLUMNS)
    out = np.empty((len(packed), METRIC_COLUMNS), dtype=np.int64)
    out[:, 0] = packed[:, 0]
    out[:, 1] = (packed[:, 1] >> 48) + since
    out[:, 2] = (packed[:, 1] >> 32) & 0xFFFF
    out[:, 3:6] = packed[:, 2:5]
    out[:, 6] = packed[:, 5] >> 32
    out[:, 7] = packed[:, 5] & _LOW32
    out[:, 8] = packed[:, 6]
    out[:, 9] = packed[:, 1] & _LOW32
    return out, currencies


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
