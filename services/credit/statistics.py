"""SME operating statistics: monthly sales, growth, refund rate and active firms by group.

Cells with fewer than MIN_CELL_FIRMS firms are suppressed, so no single firm can be read off.
Only CNY sales are aggregated (other currencies are kept per currency in the metrics).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.credit.models import Firm, FirmMonthMetric

MIN_CELL_FIRMS = 5
GroupBy = Literal["province", "city", "industry", "size_class"]


class SalesCell(BaseModel):
    """One month of one group; figures are null when the cell is suppressed."""

    month: str
    group: str
    firms: int | None
    active_firms: int | None
    sales_cny: Decimal | None
    net_sales_cny: Decimal | None
    refund_rate: float | None
    growth_mom: float | None
    suppressed: bool


def _group_column(group_by: GroupBy) -> Any:
    # Division codes: 2 digits province, 4 digits city (GB/T 2260); padded to 6 for display.
    if group_by == "province":
        return func.substr(Firm.region_code, 1, 2) + "0000"
    if group_by == "city":
        return func.substr(Firm.region_code, 1, 4) + "00"
    return getattr(Firm, group_by)


def sales_statistics(
    engine: Engine, *, group_by: GroupBy, month_from: str, month_to: str
) -> list[SalesCell]:
    """Monthly CNY sales figures by group between two months (inclusive), small cells suppressed."""
    group = _group_column(group_by).label("grp")
    m = FirmMonthMetric
    stmt = (
        select(
            col(m.month),
            group,
            func.count(func.distinct(m.firm_id)),
            func.sum(case((col(m.sales_count) > 0, 1), else_=0)),
            func.sum(m.sales_minor),
            func.sum(m.refund_minor),
            func.sum(m.chargeback_minor),
        )
        .join(Firm, col(Firm.id) == m.firm_id)
        .where(col(m.currency) == "CNY", col(m.month) >= month_from, col(m.month) <= month_to)
        .group_by(m.month, group)
        .order_by(m.month, group)
    )
    with Session(engine) as session:
        rows = session.execute(stmt).all()
    net_by_key = {(r[0], r[1]): (r[4] or 0) - (r[5] or 0) - (r[6] or 0) for r in rows}
    cells = []
    for month, grp, firms, active, sales, refunds, chargebacks in rows:
        if firms < MIN_CELL_FIRMS:
            cells.append(
                SalesCell(
                    month=month,
                    group=grp,
                    firms=None,
                    active_firms=None,
                    sales_cny=None,
                    net_sales_cny=None,
                    refund_rate=None,
                    growth_mom=None,
                    suppressed=True,
                )
            )
            continue
        net = (sales or 0) - (refunds or 0) - (chargebacks or 0)
        prev = net_by_key.get((_previous_month(month), grp))
        cells.append(
            SalesCell(
                month=month,
                group=grp,
                firms=firms,
                active_firms=int(active or 0),
                sales_cny=Decimal(sales or 0).scaleb(-2),
                net_sales_cny=Decimal(net).scaleb(-2),
                refund_rate=round((refunds or 0) / sales, 4) if sales else None,
                growth_mom=round(net / prev - 1, 4) if prev else None,
                suppressed=False,
            )
        )
    return cells


def _previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def to_csv(cells: list[SalesCell]) -> str:
    """The cells as CSV, one row per month and group."""
    out = io.StringIO()
    fields = list(SalesCell.model_fields)
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for cell in cells:
        writer.writerow({k: ("" if v is None else v) for k, v in cell.model_dump().items()})
    return out.getvalue()
