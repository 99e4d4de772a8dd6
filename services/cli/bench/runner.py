"""Run every benchmark, print the table, write var/bench/results.json."""

from __future__ import annotations

import typer

from services.cli.bench import (
    allocation_bench,
    gateway_bench,
    ingest_bench,
    matching_bench,
    models_bench,
    results,
)
from services.cli.bench.setup import BenchStack


def run_all(quick: bool = False) -> list[results.Row]:
    """All benchmark rows of this run."""
    rows: list[results.Row] = []
    rows += allocation_bench.run(quick)  # pure computation: no services needed
    bench = BenchStack.start("stack")
    try:
        rows += gateway_bench.run(bench, quick)
        rows += matching_bench.run(bench, quick)
        rows += ingest_bench.run(bench, quick)
        rows += models_bench.run(bench, quick)
    finally:
        bench.stop()
    typer.echo(results.table(rows))
    for row in rows:
        if row.note:
            typer.echo(f"  {row.name}: {row.note}")
    results.write(rows)
    typer.echo(f"written to {results.RESULTS_FILE}")
    return rows
