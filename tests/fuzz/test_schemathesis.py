"""Schemathesis against the gateway's own OpenAPI document, with a valid key of every role.

Every operation, positive and negative data, the stateful phase: no 5xx, responses conform to
the document, bad data rejected, missing or wrong authentication rejected.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.cli.client import SmefinClient
from services.credit.generator import GeneratorParams, simulate
from tests.e2e.conftest import LiveStack, live_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
__all__ = ["live_stack"]
ROLES = ("admin", "platform", "lender", "guarantor")
CHECKS = "not_a_server_error,response_schema_conformance,negative_data_rejection,ignored_auth"
MAX_TIME_S = int(os.environ.get("SMEFIN_FUZZ_SECONDS", "40"))


def _keys(live: LiveStack) -> dict[str, str]:
    keys = {"admin": live.admin_key}
    with SmefinClient(live.gateway, live.admin_key) as admin:
        for kind in ROLES[1:]:
            org = admin.create_org(f"fuzz {kind}", kind)
            keys[kind] = admin.create_key(org["id"], "fuzz")["token"]
    firm = next(iter(simulate(1, seed=3, params=GeneratorParams(median_monthly_sales=3000.0))))
    with SmefinClient(live.gateway, keys["platform"]) as plat:
        plat.request("PUT", "/v1/firms/fuzz-1", {"industry": "retail", "region_code": "330106"})
        rows = [
            {k: v for k, v in r.items() if k != "firm_ref"} for r in firm.transactions("fuzz-1")
        ]
        plat.request("POST", "/v1/firms/fuzz-1/transactions", rows[:2000])
    return keys


def _command(live: LiveStack, key: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{live.gateway}/openapi.json",
        "--url",
        live.gateway,
        "-H",
        f"Authorization: Bearer {key}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "30",
        "--max-time",
        str(MAX_TIME_S),
        "--workers",
        "1",
        "--seed",
        "20261129",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
    ]


@pytest.mark.skipif(
    bool(os.environ.get("SMEFIN_TEST_DATABASE_URL")), reason="fuzzed once, in the SQLite pass"
)
def test_gateway_openapi_holds_under_fuzzing(live_stack: LiveStack, tmp_path: Path) -> None:
    # The four roles fuzz the same stack at once: each run is a client of its own, as real
    # clients are, and the whole takes one time budget instead of four.
    keys = _keys(live_stack)
    deadline = time.monotonic() + MAX_TIME_S * 4 + 120
    runs: dict[str, subprocess.Popen[bytes]] = {}
    reports = {role: tmp_path / f"{role}.txt" for role in keys}
    try:
        for role, key in keys.items():
            with reports[role].open("wb") as report:
                runs[role] = subprocess.Popen(
                    _command(live_stack, key), stdout=report, stderr=subprocess.STDOUT
                )
        codes = {
            role: run.wait(timeout=max(1.0, deadline - time.monotonic()))
            for role, run in runs.items()
        }
    finally:
        for run in runs.values():  # a run past the deadline, or left by a failure above
            run.kill()
            run.wait()
    failures = []
    for role, code in codes.items():
        text = reports[role].read_text()
        summary = [line for line in text.splitlines() if " generated," in line]
        print(f"{role}: {summary[-1].strip() if summary else 'no summary'}")
        if code != 0:
            failures.append(f"--- {role} (exit {code})\n{text[-4000:]}")
    assert not failures, "\n".join(failures)
