"""Capacity rules: budget, concentration, leverage, as plain functions."""

from __future__ import annotations

from decimal import Decimal

from services.matching import capacity as cap
from services.matching.models import GuarantorProfile, LenderProfile

D = Decimal


def _slc(used: str = "0") -> cap.LenderLimits:
    return cap.lender_limits(
        LenderProfile(
            org_id="l",
            lender_kind="small_loan_company",
            name="l",
            net_assets_cny=D(1_000_000),
            lending_budget_cny=D(500_000),
            single_borrower_limit=D("0.10"),
            related_group_limit=D("0.15"),
            used_cny=D(used),
        )
    )


def _guarantor(used: str = "0") -> cap.GuarantorLimits:
    return cap.guarantor_limits(
        GuarantorProfile(
            org_id="g",
            name="g",
            net_assets_cny=D(1_000_000),
            leverage_multiple=D(10),
            single_client_limit=D("0.10"),
            related_group_limit=D("0.15"),
            used_cny=D(used),
        )
    )


def test_small_loan_company_limits_in_cny() -> None:
    limits = _slc()
    assert limits.single_borrower_cny == D(100_000)
    assert limits.related_group_cny == D(150_000)
    assert cap.lender_shortfalls(limits, cap.Exposure(), D(100_000)) == []
    assert cap.lender_shortfalls(limits, cap.Exposure(), D("100000.01")) == [
        cap.SINGLE_BORROWER_LIMIT
    ]


def test_group_limit_applies_only_to_firms_in_a_group() -> None:
    limits = _slc()
    alone = cap.Exposure(firm_cny=D(0), group_cny=D(0), in_group=False)
    grouped = cap.Exposure(firm_cny=D(0), group_cny=D(80_000), in_group=True)
    assert cap.lender_shortfalls(limits, alone, D(80_000)) == []
    assert cap.lender_shortfalls(limits, grouped, D(80_000)) == [cap.RELATED_GROUP_LIMIT]
    assert cap.lender_room_for_firm(limits, grouped) == D(70_000)


def test_budget_exhausted() -> None:
    assert cap.lender_shortfalls(_slc("450000"), cap.Exposure(), D(60_000)) == [
        cap.LENDER_BUDGET_EXHAUSTED
    ]
    assert cap.lender_room_for_firm(_slc("450000"), cap.Exposure()) == D(50_000)


def test_guarantor_leverage_client_and_group() -> None:
    limits = _guarantor("9950000")
    assert limits.leverage_cap_cny == D(10_000_000)
    exposure = cap.Exposure(firm_cny=D(60_000), group_cny=D(120_000), in_group=True)
    assert cap.guarantor_shortfalls(limits, exposure, D(60_000)) == [
        cap.GUARANTOR_LEVERAGE_CAP,
        cap.GUARANTOR_SINGLE_CLIENT_LIMIT,
        cap.GUARANTOR_RELATED_GROUP_LIMIT,
    ]
    assert cap.guarantor_room_for_firm(limits, exposure) == D(30_000)
    assert cap.guarantor_shortfalls(_guarantor(), cap.Exposure(), D(100_000)) == []
