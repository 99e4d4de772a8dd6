"""A run as JSON-ready data, for the service to store and return (money as CNY decimal strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.matching.allocation.model import Instance
from services.matching.allocation.solver import RunResult


def _cny_fen(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def _cny(value: float) -> str:
    return str(Decimal(repr(value)).quantize(Decimal("0.01")))


def run_summary(instance: Instance, result: RunResult) -> dict[str, Any]:
    """Objective, bound, gap, greedy baseline, the financed applications and why others were not."""
    return {
        "objective": result.objective.value,
        "objective_value": _cny(result.value),
        "upper_bound": _cny(result.lp_bound),
        "bound_method": result.bound_method,
        "gap": round(result.gap, 6),
        "greedy_value": _cny(result.greedy_value),
        "greedy_ratio": round(result.greedy_value / result.lp_bound, 6) if result.lp_bound else 1.0,
        "proven_optimal": result.proven_optimal,
        "firms_financed": len({instance.app_firm[a] for a in (result.chosen >= 0).nonzero()[0]}),
        "applications_financed": result.financed,
        "financed_amount": _cny_fen(result.financed_amount),
        "seconds": result.seconds,
        "choices": [
            {
                "application_id": c.application_id,
                "loan_product_id": c.loan_product_id,
                "lender_id": c.lender_id,
                "guarantee_product_id": c.guarantee_product_id,
                "guarantor_id": c.guarantor_id,
                "amount": _cny_fen(c.amount),
                "guaranteed_exposure": _cny_fen(c.guaranteed_exposure),
                "value": _cny(c.value),
            }
            for c in result.choices(instance)
        ],
        "left_out": [
            {
                "application_id": x.application_id,
                "reason": x.reason,
                "limit": x.limit,
                "holder": x.holder,
                "detail": x.detail,
                "ineligible": list(x.ineligible),
            }
            for x in result.left_out
        ],
    }
