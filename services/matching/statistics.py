"""Financing statistics: applied, approved and disbursed by month and group, small cells suppressed.

Groups come from the firm profile stored with each application's score snapshot, so a firm is
counted with the region, industry and size class it had when it applied. Months are UTC
calendar months of the application date.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.matching.models import Application, Referral

MIN_CELL_FIRMS = 5
GroupBy = Literal["province", "city", "industry", "size_class"]
APPROVED = ("approved", "disbursed", "repaid", "defaulted")
DISBURSED = ("disbursed", "repaid", "defaulted")


class FinancingCell(BaseModel):
    """Financing of one group in one month; null figures when suppressed."""

    month: str
    group: str
    firms_applied: int | None
    applications: int | None
    applied_cny: Decimal | None
    approved: int | None
    approved_cny: Decimal | None
    disbursed: int | None
    disbursed_cny: Decimal | None
    suppressed: bool


def group_of(snapshot: dict[str, Any], group_by: GroupBy) -> str:
    """The group of a firm as recorded in an application snapshot."""
    region = str(snapshot.get("region_code", "000000"))
    if group_by == "province":
        return region[:2] + "0000"
    if group_by == "city":
        return region[:4] + "00"
    return str(snapshot.get(group_by, "unknown"))


def _month_bounds(month_from: str, month_to: str) -> tuple[datetime, datetime]:
    start = datetime(int(month_from[:4]), int(month_from[5:7]), 1, tzinfo=UTC)
    year, mon = int(month_to[:4]), int(month_to[5:7])
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=UTC)
    return start, end


def financing_statistics(
    engine: Engine, *, group_by: GroupBy, month_from: str, month_to: str
) -> list[FinancingCell]:
    """Applications, approvals and disbursements by month and group between two months."""
    start, end = _month_bounds(month_from, month_to)
    with Session(engine) as session:
        apps = session.exec(
            select(Application).where(
                col(Application.created_at) >= start, col(Application.created_at) < end
            )
        ).all()
        referrals = (
            session.exec(
                select(Referral).where(col(Referral.application_id).in_([a.id for a in apps]))
            ).all()
            if apps
            else []
        )
    by_app = {r.application_id: r for r in referrals}
    acc: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "firms": set(),
            "n": 0,
            "amt": Decimal(0),
            "ap": 0,
            "ap_amt": Decimal(0),
            "d": 0,
            "d_amt": Decimal(0),
        }
    )
    for app in apps:
        key = (f"{app.created_at:%Y-%m}", group_of(app.snapshot, group_by))
        cell = acc[key]
        cell["firms"].add((app.platform_org_id, app.firm_ref))
        cell["n"] += 1
        cell["amt"] += app.amount_cny
        ref = by_app.get(app.id)
        if ref is not None and ref.status in APPROVED:
            cell["ap"] += 1
            cell["ap_amt"] += ref.amount_cny
        if ref is not None and ref.status in DISBURSED:
            cell["d"] += 1
            cell["d_amt"] += ref.amount_cny
    cells = []
    for (month, grp), c in sorted(acc.items()):
        if len(c["firms"]) < MIN_CELL_FIRMS:
            cells.append(
                FinancingCell(
                    month=month,
                    group=grp,
                    firms_applied=None,
                    applications=None,
                    applied_cny=None,
                    approved=None,
                    approved_cny=None,
                    disbursed=None,
                    disbursed_cny=None,
                    suppressed=True,
                )
            )
            continue
        cells.append(
            FinancingCell(
                month=month,
                group=grp,
                firms_applied=len(c["firms"]),
                applications=c["n"],
                applied_cny=c["amt"],
                approved=c["ap"],
                approved_cny=c["ap_amt"],
                disbursed=c["d"],
                disbursed_cny=c["d_amt"],
                suppressed=False,
            )
        )
    return cells


def combine(sales: list[dict[str, Any]], financing: list[FinancingCell]) -> list[dict[str, Any]]:
    """One row per (month, group): credit's sales figures beside matching's financing figures."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for s in sales:
        rows[(s["month"], s["group"])] = {
            "month": s["month"],
            "group": s["group"],
            **{
                f"sales_{k}" if k in ("suppressed",) else k: v
                for k, v in s.items()
                if k not in ("month", "group")
            },
        }
    for f in financing:
        row = rows.setdefault((f.month, f.group), {"month": f.month, "group": f.group})
        data = f.model_dump(exclude={"month", "group"})
        data["financing_suppressed"] = data.pop("suppressed")
        row.update(data)
    return [rows[k] for k in sorted(rows)]


COLUMNS = [
    "month",
    "group",
    "firms",
    "active_firms",
    "sales_cny",
    "net_sales_cny",
    "refund_rate",
    "growth_mom",
    "sales_suppressed",
    "firms_applied",
    "applications",
    "applied_cny",
    "approved",
    "approved_cny",
    "disbursed",
    "disbursed_cny",
    "financing_suppressed",
]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Combined statistics as CSV with a fixed column order."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
    return out.getvalue()
