"""allocation_*: batch allocation on generated instances with binding limits, against the LP bound.

Pure computation (no services): the instance is generated first, then only solve() is timed.
The bound ratio is objective / upper bound of the same run; greedy's ratio sits beside it.
"""

from __future__ import annotations

import time

from services.cli.bench.results import Row
from services.matching.allocation import GeneratorConfig, Objective, generate, solve, verify

TARGET_RATIO = 0.99
TARGET_10K_S = 10.0
SEED = 20261129


def _run(n_apps: int) -> tuple[float, float, float, str]:
    instance = generate(SEED, GeneratorConfig(n_apps=n_apps))
    started = time.perf_counter()
    result = solve(instance, Objective.FINANCED_AMOUNT)
    seconds = time.perf_counter() - started
    problems = verify(instance, result.chosen)
    if problems:
        raise RuntimeError(f"allocation broke {len(problems)} limits: {problems[:3]}")
    note = (
        f"{n_apps} apps, {instance.n_options} options; financed {result.financed}; "
        f"bound {result.bound_method}; phases {result.seconds}"
    )
    return seconds, result.bound_ratio, result.greedy_value / result.lp_bound, note


def run(quick: bool) -> list[Row]:
    """10k applications x 250 products (and 100k unless quick), financed amount objective."""
    seconds, ratio, greedy_ratio, note = _run(10_000)
    rows = [
        Row(
            "allocation_10k_bound_ratio",
            round(ratio, 5),
            "ratio",
            round(ratio, 5),
            TARGET_RATIO,
            note,
        ),
        # Time rows: ratio is value / target (1.0 = the whole budget used).
        Row(
            "allocation_10k_s",
            round(seconds, 3),
            "s",
            round(seconds / TARGET_10K_S, 3),
            TARGET_10K_S,
        ),
        Row(
            "allocation_10k_greedy_ratio",
            round(greedy_ratio, 5),
            "ratio",
            round(greedy_ratio, 5),
            None,
        ),
    ]
    if not quick:
        seconds, ratio, _, note = _run(100_000)
        rows += [
            Row("allocation_100k_s", round(seconds, 3), "s", None, None, note),
            Row("allocation_100k_bound_ratio", round(ratio, 5), "ratio", round(ratio, 5), None),
        ]
    return rows
