"""Point-in-time features: only months complete before the as-of date count; all documented."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from services.credit.features import (
    FEATURE_NAMES,
    FEATURES,
    MonthFigures,
    compute_features,
    features_as_of,
)
from services.credit.generator import GeneratorParams, simulate

pytestmark = pytest.mark.backend_free

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def _firm_rows() -> list[MonthFigures]:
    firm = next(
        simulate(
            1, seed=4, end_month="2026-11", params=GeneratorParams(median_monthly_sales=3_000.0)
        )
    )
    return firm.month_figures()


def test_future_months_do_not_leak() -> None:
    rows = _firm_rows()
    before = compute_features(rows, "2026-06")
    later = [r for r in rows if r.month >= "2026-06"]
    assert later
    tampered = [
        r if r.month < "2026-06" else replace(r, sales=r.sales * 50, refunds=0.0) for r in rows
    ]
    assert compute_features(tampered, "2026-06") == before
    assert compute_features([r for r in rows if r.month < "2026-06"], "2026-06") == before
    assert compute_features(rows, "2026-11") != before


def test_as_of_date_uses_complete_months_only() -> None:
    rows = _firm_rows()
    assert features_as_of(rows, date(2026, 6, 20)) == compute_features(rows, "2026-06")


def test_empty_history_is_neutral_and_finite() -> None:
    f = compute_features([], "2026-06")
    assert set(f) == set(FEATURE_NAMES)
    assert all(np.isfinite(v) for v in f.values())
    assert f["months_active"] == 0 and f["zero_sales_months_6m"] == 6


def test_primary_currency_only() -> None:
    rows = _firm_rows()
    usd = [replace(r, currency="USD", sales=1.0, refunds=1.0) for r in rows[-3:]]
    assert compute_features(rows + usd, "2026-11") == compute_features(rows, "2026-11")


def test_every_feature_documented_with_unit() -> None:
    text = DOCS.read_text()
    for name, (unit, _meaning) in FEATURES.items():
        line = next((ln for ln in text.splitlines() if f"`{name}`" in ln), None)
        assert line is not None, f"{name} missing from docs/features.md"
        assert re.search(re.escape(unit), line), f"{name}: unit {unit!r} not on its line"
