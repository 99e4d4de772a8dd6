"""Bench result rows: printed as a table and written to var/bench/results.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.settings import VAR_DIR

RESULTS_FILE = VAR_DIR / "bench" / "results.json"


@dataclass
class Row:
    """One figure: value, unit, ratio to the limit measured in the same run, and target."""

    name: str
    value: float
    unit: str
    ratio: float | None
    target: float | None
    note: str = ""


def write(rows: list[Row], path: Path = RESULTS_FILE) -> None:
    """Merge rows into the results file by name (rows from other runs are kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, dict[str, object]] = {}
    if path.exists():
        try:
            existing = {r["name"]: r for r in json.loads(path.read_text())}
        except (ValueError, KeyError, TypeError):
            existing = {}
    for row in rows:
        existing[row.name] = {k: v for k, v in asdict(row).items() if k != "note" or v}
    path.write_text(json.dumps(list(existing.values()), indent=2) + "\n")


def table(rows: list[Row]) -> str:
    """A plain-text table of rows."""
    lines = [f"{'name':<40} {'value':>12} {'unit':<8} {'ratio':>8} {'target':>8}"]
    for r in rows:
        ratio = f"{r.ratio:.3f}" if r.ratio is not None else "-"
        target = f"{r.target:g}" if r.target is not None else "-"
        lines.append(f"{r.name:<40} {r.value:>12.3f} {r.unit:<8} {ratio:>8} {target:>8}")
    return "\n".join(lines)
