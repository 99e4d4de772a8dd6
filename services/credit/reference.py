"""Versioned reference data: SME size thresholds, ISO 4217 minor units, USCC check character."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "reference_data"
SIZE_TABLE_VERSION = "MIIT-2011-300"
SIZE_TABLE_FILE = "sme_size_thresholds_2011.csv"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
SIZE_ORDER = ("large", "medium", "small")


@dataclass(frozen=True)
class SizeBounds:
    """Lower bounds a firm must all meet to be in a size class (None: bound not used)."""

    min_employees: int | None
    min_revenue_10k: Decimal | None
    min_assets_10k: Decimal | None


@lru_cache
def size_table() -> dict[str, dict[str, SizeBounds]]:
    """industry_key -> size_class -> bounds, from the versioned CSV."""
    table: dict[str, dict[str, SizeBounds]] = {}
    with (DATA_DIR / SIZE_TABLE_FILE).open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            table.setdefault(row["industry_key"], {})[row["size_class"]] = SizeBounds(
                int(row["min_employees"]) if row["min_employees"] else None,
                Decimal(row["min_revenue_10k_cny"]) if row["min_revenue_10k_cny"] else None,
                Decimal(row["min_total_assets_10k_cny"])
                if row["min_total_assets_10k_cny"]
                else None,
            )
    return table


def industries() -> list[str]:
    """The industry keys the size table knows."""
    return sorted(size_table())


def classify_size(
    industry: str,
    employees: int | None,
    revenue_cny: Decimal | None,
    assets_cny: Decimal | None,
) -> str:
    """Size class (large, medium, small, micro): the first class whose every used bound is met.

    A bound whose input is unknown counts as not met, so missing data never inflates size.
    """
    bounds_by_class = size_table()[industry]
    revenue_10k = revenue_cny / Decimal(10_000) if revenue_cny is not None else None
    assets_10k = assets_cny / Decimal(10_000) if assets_cny is not None else None
    for size_class in SIZE_ORDER:
        b = bounds_by_class.get(size_class)
        if b is None:
            continue
        checks = [
            (b.min_employees, employees),
            (b.min_revenue_10k, revenue_10k),
            (b.min_assets_10k, assets_10k),
        ]
        if all(bound is None or (value is not None and value >= bound) for bound, value in checks):
            return size_class
    return "micro"


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why a Unified Social Credit Code is invalid, or None when it is valid."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = [c for c in code if c not in USCC_ALPHABET]
    if bad:
        return f"character {bad[0]!r} is not allowed (I, O, S, V, Z and lower case never appear)"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, expected {expected!r}"
    return None


@lru_cache
def currency_minor_units() -> dict[str, int]:
    """ISO 4217 code -> number of decimals allowed."""
    with (DATA_DIR / "iso4217_minor_units.csv").open(encoding="utf-8") as f:
        return {row["currency"]: int(row["minor_unit"]) for row in csv.DictReader(f)}
