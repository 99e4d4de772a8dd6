"""ruff's security rules (flake8-bandit, S) hold on the service code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_free

ROOT = Path(__file__).resolve().parents[2]
# flake8-bandit codes are S and digits (SIM is another plugin).
BANDIT = re.compile(r"^S\d")


def test_the_project_selects_the_security_rules() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in config["select"]
    # Only asserts (type narrowing) and non-crypto randomness (generators) are waived.
    assert {c for c in config["ignore"] if BANDIT.match(c)} <= {"S101", "S311"}


def test_ruff_security_rules_are_clean_on_services_and_shared() -> None:
    # The project's own configuration (its waivers included), reporting S findings only.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--output-format",
            "json",
            "--exit-zero",
            "services",
            "shared",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    findings = [f for f in json.loads(result.stdout) if f["code"] and BANDIT.match(f["code"])]
    report = [
        f"{f['filename']}:{f['location']['row']} {f['code']} {f['message']}" for f in findings
    ]
    assert not findings, "\n".join(report)
