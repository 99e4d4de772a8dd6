"""SME operating statistics (operators): credit's sales beside matching's financing figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.matching import statistics
from services.matching.deps import CreditDep, EngineDep
from shared.errors import AppError, field_error
from shared.internal_auth import PrincipalDep, require_kind
from shared.types import MONTH_PATTERN

router = APIRouter(prefix="/v1")
MONTH = MONTH_PATTERN


@router.get("/statistics", tags=["statistics"])
def get_statistics(
    principal: PrincipalDep,
    engine: EngineDep,
    credit: CreditDep,
    month_from: Annotated[str, Query(pattern=MONTH, examples=["2025-12"])],
    month_to: Annotated[str, Query(pattern=MONTH, examples=["2026-11"])],
    group_by: statistics.GroupBy = "province",
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Monthly sales, growth, refund rate, active firms; financing applied, approved, disbursed."""
    require_kind(principal, "admin")
    if month_from > month_to:
        raise AppError(
            "month_from is after month_to",
            errors=[field_error(("query", "month_from"), "must not be after month_to")],
        )
    params = {"month_from": month_from, "month_to": month_to, "group_by": group_by}
    sales = credit.sales_statistics(principal, params)
    financing = statistics.financing_statistics(
        engine, group_by=group_by, month_from=month_from, month_to=month_to
    )
    rows = statistics.combine(sales, financing)
    if format == "csv":
        return Response(statistics.to_csv(rows), media_type="text/csv")
    return {"group_by": group_by, "min_cell_firms": statistics.MIN_CELL_FIRMS, "rows": rows}
