"""Statistics routes of credit (operators): monthly sales by region, industry and size class."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.credit import statistics
from services.credit.deps import EngineDep
from shared.errors import AppError, field_error
from shared.internal_auth import PrincipalDep, require_kind
from shared.types import MONTH_PATTERN

router = APIRouter(prefix="/v1")
MONTH = re.compile(MONTH_PATTERN)


@router.get("/statistics/sales", response_model=list[statistics.SalesCell], tags=["statistics"])
def sales_statistics(
    principal: PrincipalDep,
    engine: EngineDep,
    month_from: Annotated[str, Query(pattern=MONTH.pattern, examples=["2025-12"])],
    month_to: Annotated[str, Query(pattern=MONTH.pattern, examples=["2026-11"])],
    group_by: statistics.GroupBy = "province",
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response | list[statistics.SalesCell]:
    """Monthly sales, growth, refund rate, active firms by group; cells under 5 firms hidden."""
    require_kind(principal, "admin")
    if month_from > month_to:
        raise AppError(
            "month_from is after month_to",
            errors=[field_error(("query", "month_from"), "must not be after month_to")],
        )
    cells = statistics.sales_statistics(
        engine, group_by=group_by, month_from=month_from, month_to=month_to
    )
    if format == "csv":
        return Response(statistics.to_csv(cells), media_type="text/csv")
    return cells
