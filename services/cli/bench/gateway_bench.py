"""gateway_vs_direct_score_throughput: GET score through the gateway over credit directly."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from services.cli.bench.results import Row
from services.cli.bench.setup import BenchStack
from services.cli.client import SmefinClient
from shared.internal_auth import PRINCIPAL_HEADER, Principal, sign_principal


def _load(
    url: str, headers: dict[str, str], duration_s: float, concurrency: int
) -> dict[str, float]:
    cmd = [sys.executable, "-m", "services.cli.bench.loadgen", url, "--duration", str(duration_s)]
    cmd += ["--concurrency", str(concurrency)]
    for k, v in headers.items():
        cmd += ["--header", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration_s + 120)  # noqa: S603
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _direct(bench: BenchStack) -> dict[str, str]:
    """The signed principal header the gateway would send (valid for the principal max age)."""
    principal = Principal(bench.platform_org_id, "platform", frozenset({"firms:read"}))
    return {PRINCIPAL_HEADER: sign_principal(principal, bench.internal_secret)}


def run(bench: BenchStack, quick: bool) -> list[Row]:
    """Same load, same firm, same run: direct to credit, then through the gateway."""
    firm_ref = bench.firm_with_history(months=24, orders_per_month=Decimal(60))
    duration = 4.0 if quick else 10.0
    # The bench measures forwarding, not the per-key rate limit: lift the platform's bucket.
    with SmefinClient(bench.stack.url("gateway"), bench.admin_key) as admin:
        admin.request(
            "PUT",
            f"/v1/organizations/{bench.platform_org_id}/limits",
            {"rate_limit_per_s": 100_000, "rate_limit_burst": 1_000_000},
        )
    # Warm both paths (connection pools, key cache, principal signing) before measuring.
    _load(bench.stack.url("credit") + f"/v1/firms/{firm_ref}/score", _direct(bench), 1.0, 8)
    direct_headers = _direct(bench)
    path = f"/v1/firms/{firm_ref}/score"
    direct = _load(bench.stack.url("credit") + path, direct_headers, duration, 32)
    _load(
        bench.stack.url("gateway") + path,
        {"Authorization": f"Bearer {bench.platform_key}"},
        1.0,
        8,
    )
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
            note=(
                f"direct {direct['rps']:.0f} req/s; "
                f"errors gw {gateway['errors']} direct {direct['errors']}"
            ),
        )
    ]
