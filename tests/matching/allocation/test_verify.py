"""verify() catches every kind of broken limit, independently of the solver."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from services.matching.allocation import (
    ApplicationRow,
    Guarantor,
    Lender,
    OptionRow,
    build_instance,
    verify,
)

pytestmark = pytest.mark.backend_free


def _two_apps(lender: Lender, guarantors: list[Guarantor], guarantor_id: str | None = None):
    apps = [
        ApplicationRow("a", "f1", Decimal(5000), 0, group_key="g"),
        ApplicationRow("b", "f2", Decimal(4000), 1, group_key="g"),
    ]
    gp = "gp" if guarantor_id else None
    options = [
        OptionRow(
            "a", "lp", lender.id, Decimal(1), gp, guarantor_id, Decimal("0.5") if gp else Decimal(0)
        ),
        OptionRow(
            "b", "lp", lender.id, Decimal(1), gp, guarantor_id, Decimal("0.5") if gp else Decimal(0)
        ),
    ]
    return build_instance(apps, options, [lender], guarantors)


def test_sound_choice_passes() -> None:
    instance = _two_apps(Lender("L", budget=900_000), [])
    assert verify(instance, np.array([0, 1])) == []


def test_lender_budget() -> None:
    instance = _two_apps(Lender("L", budget=899_999), [])
    assert verify(instance, np.array([0, -1])) == []
    problems = verify(instance, np.array([0, 1]))
    assert problems == ["lender budget L: 900000 > 899999 fen"]


def test_single_borrower_counts_outstanding() -> None:
    lender = Lender(
        "L", budget=10**9, single_borrower_cap=600_000, outstanding_by_firm={"f1": 100_001}
    )
    instance = _two_apps(lender, [])
    assert verify(instance, np.array([0, 1])) == ["single borrower L/f1: 600001 > 600000 fen"]


def test_related_group() -> None:
    lender = Lender("L", budget=10**9, related_group_cap=899_999)
    instance = _two_apps(lender, [])
    assert verify(instance, np.array([0, 1])) == ["related group L/g: 900000 > 899999 fen"]


def test_guarantor_limits() -> None:
    # Exposure 250,000 + 200,000 fen; net assets 2,000,000: client cap 200,000, group 300,000.
    guarantor = Guarantor("G", net_assets=2_000_000, leverage_multiple=0.2, outstanding=0)
    instance = _two_apps(Lender("L", budget=10**9), [guarantor], "G")
    problems = verify(instance, np.array([0, 1]))
    assert "guarantor leverage G: 450000 > 400000 fen" in problems
    assert "guarantor single client G/f1: 250000 > 200000 fen" in problems
    assert "guarantor related group G/g: 450000 > 300000 fen" in problems
    assert len(problems) == 3


def test_option_of_another_application() -> None:
    instance = _two_apps(Lender("L", budget=10**9), [])
    assert verify(instance, np.array([1, -1])) == ["a: option 1 is not one of its options"]
    assert verify(instance, np.array([0])) == ["choice has 1 entries for 2 applications"]
