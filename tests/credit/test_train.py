"""Training from lenders' loan outcomes and from any CSV; predicting a CSV; reproducing a score."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.cli.generate import load_into_database
from services.cli.main import app as cli
from services.credit import scoring_service
from services.credit.config import CreditSettings
from services.credit.generator import GeneratorParams, simulate
from shared.db import make_engine
from tests.conftest import principal_headers


def service_headers() -> dict[str, str]:
    """Signed now: a principal header goes stale after 60 s."""
    return principal_headers("svc_matching", "service")


def admin_headers() -> dict[str, str]:
    """Signed now: a principal header goes stale after 60 s."""
    return principal_headers("org_admin", "admin")


runner = CliRunner()


def _versions(output: str) -> list[str]:
    # Library warnings may share the output; the command prints one line per new version.
    return re.findall(r"^((?:scorecard|gbm)-\d{8}-[0-9a-f]{10})\s", output, flags=re.MULTILINE)


@pytest.fixture
def cli_env(credit_settings: CreditSettings, monkeypatch: pytest.MonkeyPatch) -> CreditSettings:
    monkeypatch.setenv("SMEFIN_CREDIT_MODEL_DIR", str(credit_settings.model_dir))
    return credit_settings


def test_train_from_outcomes_uses_features_as_of_application(
    credit: TestClient, cli_env: CreditSettings
) -> None:
    engine = make_engine(cli_env.database_url)
    firms = list(
        simulate(
            600, seed=21, end_month="2026-06", params=GeneratorParams(median_monthly_sales=3_000.0)
        )
    )
    load_into_database(engine, "org_p1", firms)
    engine.dispose()
    for f in firms:
        body = {
            "platform_org_id": "org_p1",
            "firm_ref": f.firm_ref,
            "loan_id": f"loan-{f.index}",
            "application_date": "2026-06-10",
            "outcome": "defaulted" if f.defaulted_12m else "repaid",
            "observed_at": "2026-11-01T00:00:00+00:00",
        }
        assert credit.post("/v1/outcomes", json=body, headers=service_headers()).status_code == 201
    # An outcome of a firm credit does not know is skipped, not fatal.
    credit.post(
        "/v1/outcomes",
        json=body | {"loan_id": "ghost", "firm_ref": "ghost"},
        headers=service_headers(),
    )
    data = scoring_service.outcome_training_set(make_engine(cli_env.database_url))
    assert data.window["outcomes"] == 600 and data.window["skipped_unknown_firms"] == 1
    # Features as of 2026-06-10: histories end 2026-05, so firms look the same as when generated.
    assert data.X[:, 0].max() == 24.0
    result = runner.invoke(cli, ["credit", "train", "--database-url", cli_env.database_url])
    assert result.exit_code == 0, result.output
    versions = _versions(result.output)
    assert {v.split("-")[0] for v in versions} == {"scorecard", "gbm"}
    listed = {m["version"]: m for m in credit.get("/v1/models", headers=admin_headers()).json()}
    trained = listed[versions[0]]
    assert trained["status"] == "candidate"
    assert trained["training_window"]["source"] == "loan_outcomes"
    assert trained["training_window"]["application_to"] == "2026-06-10"
    assert trained["metrics"]["auc"] > 0.65
    assert (
        credit.post(f"/v1/models/{versions[0]}/promote", headers=admin_headers()).status_code == 200
    )


def test_train_without_outcomes_fails_cleanly(credit: TestClient, cli_env: CreditSettings) -> None:
    result = runner.invoke(cli, ["credit", "train", "--database-url", cli_env.database_url])
    assert result.exit_code == 2
    assert "nothing to train on" in result.output


def _loan_book(path: Path, n: int = 800) -> None:
    rng = np.random.default_rng(8)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["loan_id", "income", "sector", "utilisation", "branch", "empty", "bad"])
        for i in range(n):
            risk = rng.normal()
            sector = ["retail", "food", "textile"][int(risk > 0.7) + int(risk > 1.5)]
            util = "" if rng.random() < 0.1 else f"{0.5 + 0.2 * risk + rng.normal(0, 0.1):.3f}"
            bad = int(rng.random() < 1 / (1 + np.exp(-(2 * risk - 2.5))))
            w.writerow(
                [f"L{i}", f"{50_000 * np.exp(-0.3 * risk):.0f}", sector, util, "HZ", "", bad]
            )


def test_csv_train_then_predict(
    credit: TestClient, cli_env: CreditSettings, tmp_path: Path
) -> None:
    book = tmp_path / "book.csv"
    _loan_book(book)
    result = runner.invoke(
        cli,
        [
            "credit",
            "train",
            "--csv",
            str(book),
            "--label",
            "bad",
            "--database-url",
            cli_env.database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    (version,) = _versions(result.output)
    model = next(
        m
        for m in credit.get("/v1/models", headers=admin_headers()).json()
        if m["version"] == version
    )
    assert model["training_window"]["ignored_columns"] == {
        "branch": "constant",
        "empty": "all values missing",
    }
    assert "sector" in model["training_window"]["categorical"]
    assert model["metrics"]["auc"] > 0.7
    # A lender's own model cannot become the champion that scores firms.
    assert credit.post(f"/v1/models/{version}/promote", headers=admin_headers()).status_code == 409

    out = tmp_path / "scored.csv"
    result = runner.invoke(
        cli,
        [
            "credit",
            "predict",
            "--model",
            version,
            "--csv",
            str(book),
            "--out",
            str(out),
            "--database-url",
            cli_env.database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    with book.open() as a, out.open() as b:
        original, scored = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert len(scored) == len(original)
    assert all({k: r[k] for k in o} == o for o, r in zip(original, scored, strict=True))
    pds = np.array([float(r["pd"]) for r in scored])
    labels = np.array([int(r["bad"]) for r in scored])
    assert ((pds > 0) & (pds < 1)).all()
    assert pds[labels == 1].mean() > pds[labels == 0].mean()


def test_csv_errors_exit_2_with_a_reason(
    credit: TestClient, cli_env: CreditSettings, tmp_path: Path
) -> None:
    book = tmp_path / "book.csv"
    _loan_book(book, 100)
    url = ["--database-url", cli_env.database_url]
    r = runner.invoke(cli, ["credit", "train", "--csv", str(book), "--label", "nope", *url])
    assert r.exit_code == 2 and "no column 'nope'" in r.output
    r = runner.invoke(cli, ["credit", "train", "--csv", str(book), "--label", "sector", *url])
    assert r.exit_code == 2 and "must be 0/1" in r.output
    r = runner.invoke(cli, ["credit", "train", "--csv", str(book), *url])
    assert r.exit_code == 2 and "--label" in r.output
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    models = credit.get("/v1/models", headers=admin_headers()).json()
    r = runner.invoke(
        cli,
        [
            "credit",
            "predict",
            "--model",
            models[0]["version"],
            "--csv",
            str(other),
            "--out",
            str(tmp_path / "o.csv"),
            *url,
        ],
    )
    assert r.exit_code == 2 and "lacks the model's columns" in r.output
    r = runner.invoke(
        cli, ["credit", "predict", "--model", "nope", "--csv", str(other), "--out", "x", *url]
    )
    assert r.exit_code == 2 and "not found" in r.output


def test_stored_score_reproduces_from_its_inputs(
    credit: TestClient, cli_env: CreditSettings
) -> None:
    engine = make_engine(cli_env.database_url)
    load_into_database(
        engine, "org_p1", simulate(5, seed=4, params=GeneratorParams(median_monthly_sales=3_000.0))
    )
    engine.dispose()
    ids = [credit.get(f"/v1/firms/m{i:06d}/score").json()["score_id"] for i in range(5)]
    assert len(set(ids)) == 5
    for score_id in ids:
        r = runner.invoke(
            cli, ["credit", "reproduce", str(score_id), "--database-url", cli_env.database_url]
        )
        assert r.exit_code == 0, r.output
        assert '"matches": true' in r.output
    r = runner.invoke(cli, ["credit", "reproduce", "99999", "--database-url", cli_env.database_url])
    assert r.exit_code == 2 and "not found" in r.output
