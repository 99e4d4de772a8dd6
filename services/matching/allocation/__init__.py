"""Batch allocation: finance the most firms (or surplus) within every limit, near the LP bound.

A pure package (numpy + scipy, no database): build an Instance, solve() it, verify() the choice.
"""

from services.matching.allocation.build import ApplicationRow, OptionRow, build_instance, fen
from services.matching.allocation.generator import GeneratorConfig, generate
from services.matching.allocation.model import Guarantor, Instance, Lender, Objective
from services.matching.allocation.report import LeftOut
from services.matching.allocation.resources import Limit
from services.matching.allocation.solver import Choice, RunResult, solve
from services.matching.allocation.summary import run_summary
from services.matching.allocation.value import Surplus, expected_surplus
from services.matching.allocation.verify import verify

__all__ = [
    "ApplicationRow",
    "Choice",
    "GeneratorConfig",
    "Guarantor",
    "Instance",
    "LeftOut",
    "Lender",
    "Limit",
    "Objective",
    "OptionRow",
    "RunResult",
    "Surplus",
    "build_instance",
    "expected_surplus",
    "fen",
    "generate",
    "run_summary",
    "solve",
    "verify",
]
