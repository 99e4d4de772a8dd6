"""Model registry over HTTP: list, promote, report, monitoring; outcomes from matching."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session, select

from services.cli.generate import load_into_database
from services.credit import scoring_service
from services.credit.app import create_app
from services.credit.config import CreditSettings
from services.credit.generator import GeneratorParams, simulate
from services.credit.models import CreditScore, ModelVersion
from services.credit.scoring import registry
from services.credit.scoring.monitoring import bin_shares, psi
from shared.db import make_engine, utcnow
from tests.conftest import principal_headers


def admin_headers() -> dict[str, str]:
    """Signed now: a principal header goes stale after 60 s."""
    return principal_headers("org_admin", "admin")


def service_headers() -> dict[str, str]:
    """Signed now: a principal header goes stale after 60 s."""
    return principal_headers("svc_matching", "service")


def _load(settings: CreditSettings, n: int, platform: str = "org_p1", seed: int = 5) -> None:
    engine = make_engine(settings.database_url)
    params = GeneratorParams(median_monthly_sales=3_000.0)
    load_into_database(engine, platform, simulate(n, seed=seed, params=params))
    engine.dispose()


def test_registry_lists_champion_and_challenger_with_metadata(credit: TestClient) -> None:
    models = credit.get("/v1/models", headers=admin_headers()).json()
    kinds = {m["kind"]: m for m in models}
    assert kinds["scorecard"]["status"] == "champion"
    assert kinds["gbm"]["status"] == "candidate"
    for m in models:
        assert len(m["sha256"]) == 64
        assert m["training_window"]["source"] == "generator"
        assert {"auc", "ks", "brier", "calibration"} <= set(m["metrics"])
        assert m["features"] and m["created_at"]
    assert credit.get("/v1/models").status_code == 403


def test_promote_challenger_then_scores_name_it(
    credit: TestClient, credit_settings: CreditSettings
) -> None:
    _load(credit_settings, 3)
    first = credit.get("/v1/firms/m000000/score")
    assert first.status_code == 200, first.text
    champion = first.json()["model_version"]
    assert champion.startswith("scorecard-")
    gbm = next(
        m for m in credit.get("/v1/models", headers=admin_headers()).json() if m["kind"] == "gbm"
    )
    r = credit.post(f"/v1/models/{gbm['version']}/promote", headers=admin_headers())
    assert r.status_code == 200 and r.json()["status"] == "champion"
    statuses = {
        m["version"]: m["status"] for m in credit.get("/v1/models", headers=admin_headers()).json()
    }
    assert statuses[champion] == "retired"
    again = credit.get("/v1/firms/m000000/score").json()
    assert again["model_version"] == gbm["version"]
    assert len(again["reasons"]) <= 4
    assert credit.post("/v1/models/nope/promote", headers=admin_headers()).status_code == 404
    assert credit.post(f"/v1/models/{champion}/promote").status_code == 403


def test_report_has_three_charts(credit: TestClient, credit_settings: CreditSettings) -> None:
    version = credit.get("/v1/models", headers=admin_headers()).json()[0]["version"]
    r = credit.get(f"/v1/models/{version}/report", headers=admin_headers())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.count("data:image/png;base64,") == 3
    assert "AUC" in r.text or "auc" in r.text
    out = credit_settings.model_dir / "reports" / version
    for name in ("roc.png", "calibration.png", "scores.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert credit.get("/v1/models/nope/report", headers=admin_headers()).status_code == 404


def test_monitoring_psi_per_month_records_events_once(
    credit: TestClient, credit_settings: CreditSettings
) -> None:
    _load(credit_settings, 40)
    for i in range(40):
        assert credit.get(f"/v1/firms/m{i:06d}/score").status_code == 200
    version = credit.get("/v1/firms/m000000/score").json()["model_version"]
    # Last month the population drifted: every score sat at the very top of the scale.
    engine = make_engine(credit_settings.database_url)
    last_month = utcnow().replace(day=1) - timedelta(days=3)
    with Session(engine) as session:
        template = session.get(CreditScore, 1)
        assert template is not None
        for _ in range(150):
            session.add(
                CreditScore(
                    firm_id=template.firm_id,
                    model_version=version,
                    as_of=last_month.date(),
                    metrics_version=0,
                    pd_12m=0.0005,
                    score=880,
                    grade="A",
                    created_at=last_month,
                )
            )
        session.commit()
    engine.dispose()
    view = credit.get(f"/v1/models/{version}/monitoring", headers=admin_headers()).json()
    months = {m["month"]: m for m in view["months"]}
    drifted = months[f"{last_month.year:04d}-{last_month.month:02d}"]
    assert drifted["level"] == "alert" and drifted["psi"] > view["alert_threshold"]
    this = months[f"{utcnow().year:04d}-{utcnow().month:02d}"]
    assert this["scores"] == 40 and this["level"] == "too_few"
    assert view["events"] == []  # reading records nothing
    ran = credit.post(f"/v1/models/{version}/monitoring", headers=admin_headers()).json()
    assert [(e["month"], e["level"]) for e in ran["events"]] == [(drifted["month"], "alert")]
    again = credit.post(f"/v1/models/{version}/monitoring", headers=admin_headers()).json()
    assert len(again["events"]) == 1
    assert credit.get(f"/v1/models/{version}/monitoring").status_code == 403


def test_monitoring_counts_each_score_in_its_utc_month_whatever_the_session_zone(
    credit: TestClient, credit_settings: CreditSettings
) -> None:
    _load(credit_settings, 3)
    version = credit.get("/v1/firms/m000000/score").json()["model_version"]
    url = credit_settings.database_url
    # On PostgreSQL the session's zone decides what EXTRACT reads of a timestamptz: make it
    # one where 23:30 UTC on the last day of a month is already the next month.
    engine = (
        create_engine(url, connect_args={"options": "-c timezone=Asia/Shanghai"})
        if url.startswith("postgresql")
        else make_engine(url)
    )
    end_of_march = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    stamps = [end_of_march, end_of_march + timedelta(hours=1), datetime(2026, 1, 15, tzinfo=UTC)]
    with Session(engine) as session:
        firm_id = session.exec(select(CreditScore.firm_id)).first()
        assert firm_id is not None
        for k in range(330):
            session.add(
                CreditScore(
                    firm_id=firm_id,
                    model_version=version,
                    as_of=date(2026, 3, 1),
                    metrics_version=0,
                    pd_12m=0.01,
                    # Scores over the whole scale, repeated: what the database counts.
                    score=300 + (k * 37) % 600,
                    grade="B",
                    created_at=stamps[k % 3],
                )
            )
        session.commit()
        stored = session.exec(
            select(CreditScore.score, CreditScore.created_at).where(
                CreditScore.model_version == version
            )
        ).all()
    view = scoring_service.monitor(engine, version, record_events=False)
    engine.dispose()
    # The same figures from every stored score, month by month, as an operator would count.
    reference = registry_record_reference(credit_settings, version)
    expected_shares = np.array(reference["shares"])
    by_month: dict[str, list[int]] = {}
    for score, created in stored:
        by_month.setdefault(f"{created.year:04d}-{created.month:02d}", []).append(score)
    assert [m.month for m in view.months] == sorted(by_month)
    assert {"2026-01", "2026-03", "2026-04"} <= set(by_month)
    assert len(by_month["2026-03"]) == len(by_month["2026-04"]) == 110
    for m in view.months:
        scores = np.array(by_month[m.month], dtype=float)
        actual = bin_shares(scores, reference["edges"])
        assert m.scores == len(scores)
        assert m.psi == round(psi(expected_shares, actual), 6)


def registry_record_reference(settings: CreditSettings, version: str) -> dict[str, Any]:
    """The training score distribution a version was registered with."""
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        record = session.get(ModelVersion, version)
    engine.dispose()
    assert record is not None
    return dict(record.metrics["psi_reference"])


OUTCOME = {
    "platform_org_id": "org_p1",
    "firm_ref": "m000001",
    "loan_id": "loan-1",
    "application_date": "2026-03-05",
    "outcome": "repaid",
    "observed_at": "2026-09-05T10:00:00+08:00",
}


def test_outcome_idempotent_on_loan_id(credit: TestClient) -> None:
    r = credit.post("/v1/outcomes", json=OUTCOME, headers=service_headers())
    assert r.status_code == 201, r.text
    assert credit.post("/v1/outcomes", json=OUTCOME, headers=service_headers()).status_code == 200
    changed = credit.post(
        "/v1/outcomes", json=OUTCOME | {"outcome": "defaulted"}, headers=service_headers()
    )
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    assert credit.post("/v1/outcomes", json=OUTCOME | {"loan_id": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("outcome", "late"),
        ("application_date", "2026-13-01"),
        ("observed_at", "2026-09-05T10:00:00"),
    ],
)
def test_bad_outcome_is_422_naming_the_field(credit: TestClient, field: str, value: str) -> None:
    r = credit.post("/v1/outcomes", json=OUTCOME | {field: value}, headers=service_headers())
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == f"/{field}"


def test_artifact_is_checked_against_its_sha256(
    credit: TestClient, credit_settings: CreditSettings, tmp_path: Path
) -> None:
    record = credit.get("/v1/models", headers=admin_headers()).json()[0]
    engine = make_engine(credit_settings.database_url)
    with Session(engine) as session:
        row = session.get(ModelVersion, record["version"])
        assert row is not None
        assert registry.sha256_of(Path(row.artifact_path)) == record["sha256"]
        copy = tmp_path / "copy.joblib"
        copy.write_bytes(Path(row.artifact_path).read_bytes() + b"tampered")
        row.artifact_path = str(copy)
        row.version = "tampered-copy"
    engine.dispose()
    with pytest.raises(RuntimeError, match="sha256"):
        registry.load(row)


def test_start_up_replaces_a_champion_that_cannot_load(
    credit: TestClient, credit_settings: CreditSettings
) -> None:
    engine = make_engine(credit_settings.database_url)
    with Session(engine) as session:
        champion = session.exec(select(ModelVersion).where(ModelVersion.status == "champion")).one()
        champion.artifact_path = "/nonexistent/model.joblib"
        session.add(champion)
        session.commit()
        version = champion.version
    engine.dispose()
    registry._cache.clear()
    with TestClient(create_app(credit_settings), headers=principal_headers("org_p1")) as again:
        models = {m["version"]: m for m in again.get("/v1/models", headers=admin_headers()).json()}
    # The same deterministic fit is champion again, its record pointing at a real file.
    assert models[version]["status"] == "champion"
    engine = make_engine(credit_settings.database_url)
    with Session(engine) as session:
        row = session.get(ModelVersion, version)
        assert row is not None and Path(row.artifact_path).exists()
    engine.dispose()
