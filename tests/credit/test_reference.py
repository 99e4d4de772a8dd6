"""Reference data: USCC check character and SME size classes."""

from decimal import Decimal

import pytest

from services.credit.reference import classify_size, industries, uscc_problem

pytestmark = pytest.mark.backend_free


@pytest.mark.parametrize("code", ["914403001922038216", "91310110666007217T"])
def test_valid_uscc(code: str) -> None:
    assert uscc_problem(code) is None


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91310110666007217X", "expected 'T'"),
        ("9131011066600721", "18 characters"),
        ("91310110666007217I", "not allowed"),
        ("91310110666007217t", "not allowed"),
    ],
)
def test_invalid_uscc_says_why(code: str, fragment: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and fragment in problem


def test_sixteen_industries() -> None:
    assert len(industries()) == 16


@pytest.mark.parametrize(
    ("industry", "employees", "revenue", "assets", "expected"),
    [
        ("retail", 12, Decimal(1_500_000), None, "small"),  # the reference README's example
        ("retail", 5, Decimal(1_500_000), None, "micro"),
        ("retail", 60, Decimal(6_000_000), None, "medium"),
        ("retail", 400, Decimal(300_000_000), None, "large"),
        ("construction", None, Decimal(4_000_000), Decimal(4_000_000), "small"),
        ("construction", None, Decimal(4_000_000), None, "micro"),  # unknown bound is not met
        ("other", 150, None, None, "medium"),
    ],
)
def test_size_class(industry, employees, revenue, assets, expected) -> None:  # type: ignore[no-untyped-def]
    assert classify_size(industry, employees, revenue, assets) == expected
