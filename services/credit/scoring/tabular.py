"""A lender's own loan book as CSV: typed columns, a binary label, rows ready to train or score."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from services.credit.scoring.encoding import as_number, encode
from services.credit.scoring.training import TrainingDataError, TrainingSet
from shared.errors import field_error

# Label spellings read as default (1) and as repayment (0).
POSITIVE = {"1", "1.0", "true", "yes", "y", "default", "defaulted", "bad"}
NEGATIVE = {"0", "0.0", "false", "no", "n", "repaid", "good"}
# Most categories a column keeps; rarer ones read as unseen (the "other" bin).
MAX_CATEGORIES = 250


def _is_number(value: str) -> bool:
    return as_number(value) is not None


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file (UTF-8, a BOM allowed)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            raise TrainingDataError(f"{path}: no header row")
        header = [h.strip() for h in reader.fieldnames]
        rows = [{h.strip(): (v or "").strip() for h, v in r.items() if h} for r in reader]
    return header, rows


def training_set_from_csv(path: Path, label: str) -> TrainingSet:
    """Every column but the label as a feature: numeric if every value is a number, else
    categorical; constant and all-missing columns are set aside and named in the window."""
    header, rows = read_rows(path)
    if label not in header:
        raise TrainingDataError(
            f"{path}: no column {label!r}; columns are {', '.join(header)}",
            errors=[field_error(("label",), "not a column of the file")],
        )
    y = []
    bad_lines = []
    for i, row in enumerate(rows):
        value = row.get(label, "").lower()
        if value in POSITIVE:
            y.append(1)
        elif value in NEGATIVE:
            y.append(0)
        else:
            bad_lines.append(i + 2)
    if bad_lines:
        raise TrainingDataError(
            f"{path}: label {label!r} must be 0/1 (or true/false, defaulted/repaid); "
            f"{len(bad_lines)} rows are not, first at lines {bad_lines[:5]}",
            errors=[field_error(("label",), f"line {bad_lines[0]}: not a binary label")],
        )
    features: list[str] = []
    categories: dict[str, list[str]] = {}
    ignored: dict[str, str] = {}
    for col in header:
        if col == label:
            continue
        values = [r.get(col, "") for r in rows]
        present = [v for v in values if v != ""]
        if not present:
            ignored[col] = "all values missing"
            continue
        if len(set(present)) == 1 and len(present) == len(values):
            ignored[col] = "constant"
            continue
        features.append(col)
        if not all(_is_number(v) for v in present):
            counts = Counter(present)
            categories[col] = [c for c, _ in counts.most_common(MAX_CATEGORIES)]
    if not features:
        raise TrainingDataError(f"{path}: no usable feature column besides {label!r}")
    data = TrainingSet(
        X=np.zeros((0, 0)),
        y=np.array(y, dtype=np.int64),
        features=features,
        categories=categories,
        window={
            "source": "csv",
            "file": path.name,
            "rows": len(rows),
            "label": label,
            "categorical": sorted(categories),
            "ignored_columns": ignored,
        },
    )
    data.X = encode(rows, features, categories)
    return data


def write_with_pd(
    out: Path, header: list[str], rows: list[dict[str, str]], pd_12m: Iterator[float]
) -> None:
    """The same rows with a `pd` column added at the end."""
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*header, "pd"], extrasaction="ignore")
        writer.writeheader()
        for row, p in zip(rows, pd_12m, strict=True):
            writer.writerow({**row, "pd": f"{p:.6f}"})
