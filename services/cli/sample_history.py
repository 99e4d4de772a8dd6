"""Print one generated merchant's 24-month history as a JSON array (for the README walk-through).

Usage: python -m services.cli.sample_history FIRM_REF [SEED] > history.json
"""

from __future__ import annotations

import sys

import orjson

from services.credit.generator import GeneratorParams, simulate

# About 30 orders a month keeps the array well under the 10,000-row limit of one request.
SAMPLE_PARAMS = GeneratorParams(median_monthly_sales=4_500.0, sales_sigma=0.0)


def main() -> None:
    """Write the history of one simulated firm to stdout."""
    firm_ref = sys.argv[1] if len(sys.argv) > 1 else "shop-1"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    firm = next(iter(simulate(1, seed=seed, params=SAMPLE_PARAMS)))
    rows = [{k: v for k, v in r.items() if k != "firm_ref"} for r in firm.transactions(firm_ref)]
    sys.stdout.buffer.write(orjson.dumps(rows[:10_000]))


if __name__ == "__main__":
    main()
