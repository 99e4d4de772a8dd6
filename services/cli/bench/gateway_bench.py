"""gateway_vs_direct_score_throughput: GET score through the gateway over calling credit directly."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from services.cli.bench.results import Row
from services.cli.bench.setup import BenchStack
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal


def _load(
    url: str, headers: dict[str, str], duration_s: float, concurrency: int
) -> dict[str, float]:
    cmd = [sys.executable, "-m", "services.cli.bench.loadgen", url, "--duration", str(duration_s)]
    cmd += ["--concurrency", str(concurrency)]
    for k, v in headers.items():
        cmd += ["--header", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration_s + 120)  # noqa: S603
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(bench: BenchStack, quick: bool) -> list[Row]:
    """Same load, same firm, same run: direct to credit, then through the gateway."""
    firm_ref = bench.firm_with_history(months=24, orders_per_month=Decimal(60))
    duration = 4.0 if quick else 10.0
    principal = Principal(bench.platform_org_id, "platform", frozenset({"firms:read"}))
    direct_headers = {PRINCIPAL_HEADER: sign_principal(principal, bench.internal_secret)}
    path = f"/v1/firms/{firm_ref}/score"
    direct = _load(bench.stack.url("credit") + path, direct_headers, duration, 32)
    gateway = _load(
        bench.stack.url("gateway") + path,
        {"Authorization": f"Bearer {bench.platform_key}"},
        duration,
        32,
    )
    ratio = gateway["rps"] / direct["rps"] if direct["rps"] else 0.0
    return [
        Row(
            "gateway_vs_direct_score_throughput",
            round(gateway["rps"], 1),
            "req/s",
            round(ratio, 3),
            0.4,
            note=f"direct {direct['rps']:.0f} req/s; errors gw {gateway['errors']} direct {direct['errors']}",
        )
    ]
