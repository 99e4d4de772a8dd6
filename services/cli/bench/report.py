"""Render var/bench/results.json as the markdown table of docs/benchmarks.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from services.cli.bench.results import RESULTS_FILE


def markdown(path: Path = RESULTS_FILE) -> str:
    """The rows of a results file as a markdown table, with a met/missed column."""
    rows = json.loads(path.read_text())
    lines = [
        "| row | value | unit | ratio | target | target met |",
        "|---|---:|---|---:|---:|---|",
    ]
    for r in rows:
        ratio, target = r.get("ratio"), r.get("target")
        met = "-"
        if target is not None:
            # Times, latencies and memory are "at most"; ratios and throughputs "at least".
            # A target of 1 on a latency or memory row bounds its ratio to the limit (latency
            # over one raw rescan, growth over 200 MB); other targets bound the value itself.
            at_most = r["unit"] in {"s", "ms", "MB"}
            per_limit = r["unit"] in {"ms", "MB"} and target == 1
            on_ratio = ratio is not None and (r["unit"] == "ratio" or per_limit)
            on_ratio = on_ratio or r["unit"] in {"rows/s", "req/s"}
            figure = ratio if on_ratio else r["value"]
            if figure is not None:
                met = "yes" if (figure <= target if at_most else figure >= target) else "**no**"
        ratio_text = "" if ratio is None else f"{ratio:g}"
        target_text = "" if target is None else f"{target:g}"
        cells = [f"`{r['name']}`", f"{r['value']:g}", r["unit"], ratio_text, target_text, met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown(Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS_FILE) + "\n")
