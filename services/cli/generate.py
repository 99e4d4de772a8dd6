"""`smefin generate`: seeded merchant histories, to CSV or straight into a credit database."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from services.credit import metric_record
from services.credit.features import FEATURE_NAMES, compute_features
from services.credit.generator import GeneratorParams, SimFirm, simulate
from services.credit.models import Firm, FirmMonthMetric
from services.credit.reference import SIZE_TABLE_VERSION, classify_size
from shared.db import make_engine, utcnow

FORMATS = ("transactions", "features", "firms")
# Firms written per database transaction when loading straight into a credit database.
LOAD_CHUNK = 2_000
# Runs of at least this many firms show a progress bar.
PROGRESS_FROM = 500


def progress_iter(firms: Iterable[SimFirm], total: int, label: str) -> Iterator[SimFirm]:
    """Firms, with a progress bar on the terminal for large runs."""
    if total < PROGRESS_FROM:
        yield from firms
        return
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(label, total=total)
        for firm in firms:
            yield firm
            bar.advance(task)


def feature_row(firm: SimFirm) -> dict[str, Any]:
    """A firm's features as of the month after its history, with its default label."""
    features = compute_features(firm.month_figures(), firm.as_of_month)
    return {
        "firm_ref": firm.firm_ref,
        "as_of_month": firm.as_of_month,
        **{k: round(v, 6) for k, v in features.items()},
        "defaulted_12m": int(firm.defaulted_12m),
    }


def firm_row(firm: SimFirm) -> dict[str, Any]:
    """A firm's profile and label."""
    return {
        "firm_ref": firm.firm_ref,
        "industry": firm.industry,
        "region_code": firm.region_code,
        "category": firm.category,
        "employees": firm.employees,
        "annual_revenue_cny": str(firm.annual_revenue_cny),
        "failed_month": "" if firm.failed_month is None else firm.months[firm.failed_month],
        "defaulted_12m": int(firm.defaulted_12m),
    }


def write_csv(out: Path, fmt: str, firms: Iterable[SimFirm]) -> int:
    """Write firms in a format; return the number of rows written."""
    if fmt == "transactions":
        fields = ["firm_ref", "txn_id", "type", "occurred_at", "amount", "currency"]
        fields += ["order_ref", "buyer_ref", "channel", "category", "refund_of"]
    elif fmt == "features":
        fields = ["firm_ref", "as_of_month", *FEATURE_NAMES, "defaulted_12m"]
    else:
        fields = list(firm_row(next(iter(simulate(1)))).keys())
    count = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for firm in firms:
            if fmt == "transactions":
                for row in firm.transactions():
                    writer.writerow(row)
                    count += 1
            else:
                writer.writerow(feature_row(firm) if fmt == "features" else firm_row(firm))
                count += 1
    return count


def _metric_rows(firm_id: int, firm: SimFirm) -> list[dict[str, Any]]:
    masks = np.zeros(len(firm.months), dtype=np.int64)
    np.bitwise_or.at(masks, firm.order_month, np.left_shift(1, firm.order_day - 1))
    refund_counts = np.bincount(firm.order_month, weights=firm.refunded, minlength=len(masks))
    index = {m: i for i, m in enumerate(firm.months)}
    rows = []
    for fig in firm.month_figures():
        t = index[fig.month]
        rows.append(
            {
                "firm_id": firm_id,
                "month": fig.month,
                "currency": fig.currency,
                "sales_minor": round(fig.sales * 100),
                "sales_count": fig.sales_count,
                "refund_minor": round(fig.refunds * 100),
                "refund_count": int(refund_counts[t]),
                "chargeback_minor": round(fig.chargebacks * 100),
                "chargeback_count": fig.chargeback_count,
                "distinct_buyers": fig.distinct_buyers,
                "repeat_buyers": fig.repeat_buyers,
                "top_buyer_sales_minor": round(fig.top_buyer_sales * 100),
                "active_day_mask": int(masks[t]),
            }
        )
        rows[-1]["packed"] = metric_record.pack_columns(rows[-1])
    return rows


def load_into_database(engine: Engine, platform_org_id: str, firms: Iterable[SimFirm]) -> int:
    """Register firms and their monthly metrics straight into a credit database (no raw rows).

    For demos and benchmarks of scoring at scale; the API path is `smefin demo`.
    """
    loaded = 0
    batch: list[SimFirm] = []

    def flush() -> None:
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(
                insert(Firm),
                [
                    {
                        "platform_org_id": platform_org_id,
                        "firm_ref": f.firm_ref,
                        "industry": f.industry,
                        "region_code": f.region_code,
                        "employees": f.employees,
                        "operating_revenue_cny": Decimal(f.annual_revenue_cny),
                        "size_class": classify_size(
                            f.industry, f.employees, f.annual_revenue_cny, None
                        ),
                        "size_table_version": SIZE_TABLE_VERSION,
                        "timezone": "Asia/Shanghai",
                        "created_at": now,
                        "updated_at": now,
                        "metrics_version": 1,
                    }
                    for f in batch
                ],
            )
            refs = [f.firm_ref for f in batch]
            ids: dict[str, int] = dict(
                conn.execute(
                    select(Firm.firm_ref, Firm.id).where(  # type: ignore[call-overload]
                        Firm.platform_org_id == platform_org_id,
                        Firm.firm_ref.in_(refs),  # type: ignore[attr-defined]
                    )
                ).all()
            )
            metrics = [row for f in batch for row in _metric_rows(ids[f.firm_ref], f)]
            if metrics:
                conn.execute(insert(FirmMonthMetric), metrics)
        batch.clear()

    for firm in firms:
        batch.append(firm)
        loaded += 1
        if len(batch) >= LOAD_CHUNK:
            flush()
    if batch:
        flush()
    return loaded


def generate(
    firms: int = typer.Option(1000, min=1, help="how many merchants"),
    seed: int = typer.Option(7, help="random seed: the same seed gives the same firms"),
    months: int = typer.Option(24, min=12, max=120, help="months of history per firm"),
    end_month: str | None = typer.Option(
        None, help="YYYY-MM the histories end before (default: this month)"
    ),
    median_monthly_sales: float = typer.Option(
        30_000.0, min=100.0, help="monthly sales of the median firm, CNY"
    ),
    default_rate: float = typer.Option(
        0.05, min=0.02, max=0.08, help="target 12-month default rate"
    ),
    fmt: str = typer.Option(
        "features", "--format", help="transactions | features | firms (CSV to --out)"
    ),
    out: Path | None = typer.Option(None, help="CSV file to write"),
    database_url: str | None = typer.Option(
        None, help="load firms and monthly metrics straight into this credit database instead"
    ),
    platform: str = typer.Option("generated", help="platform org id of loaded firms"),
) -> None:
    """Generate merchant histories (seeded, reproducible) as CSV or into a credit database."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    if (out is None) == (database_url is None):
        raise typer.BadParameter("give exactly one of --out or --database-url")
    params = GeneratorParams(
        median_monthly_sales=median_monthly_sales, target_default_rate=default_rate
    )
    stream = progress_iter(
        simulate(firms, seed=seed, months=months, end_month=end_month, params=params),
        firms,
        "generating",
    )
    if database_url is not None:
        engine = make_engine(database_url)
        try:
            count = load_into_database(engine, platform, stream)
        finally:
            engine.dispose()
        typer.echo(f"{count} firms loaded for platform {platform}")
        return
    assert out is not None
    rows = write_csv(out, fmt, stream)
    typer.echo(f"{rows} {fmt} rows of {firms} firms written to {out}")
