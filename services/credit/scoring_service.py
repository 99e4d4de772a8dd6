"""Model use cases: loan outcomes, training from them, monitoring, reports, score reproduction."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.credit import repository
from services.credit import scoring_repository as repo
from services.credit.features import FEATURE_NAMES, compute_features, month_key
from services.credit.models import LoanOutcome, ModelMonitoringEvent, ModelVersion
from services.credit.schemas import ModelPublic
from services.credit.scoring import registry
from services.credit.scoring.estimators import CHALLENGER_KIND, CHAMPION_KIND
from services.credit.scoring.explain import reasons_from_contributions
from services.credit.scoring.monitoring import (
    MIN_SCORES,
    PSI_ALERT,
    PSI_WARN,
    bin_shares,
    level,
    psi,
)
from services.credit.scoring.scale import grade_from_pd, score_from_pd
from services.credit.scoring.training import (
    TrainingDataError,
    TrainingSet,
    fit_kinds,
    register_fits,
)
from services.credit.scoring_schemas import (
    MonitoringPublic,
    MonthPsi,
    OutcomeIn,
    ReproductionPublic,
)
from services.credit.service import month_figures
from shared.db import write_session
from shared.errors import Conflict, NotFound


def record_outcome(engine: Engine, data: OutcomeIn) -> tuple[LoanOutcome, bool]:
    """Store a lender's loan outcome once; the same loan_id with other content is a conflict."""
    with write_session(engine) as session:
        existing = repo.get_outcome(session, data.loan_id)
        if existing is not None:
            same = (
                existing.platform_org_id == data.platform_org_id
                and existing.firm_ref == data.firm_ref
                and existing.application_date == data.application_date
                and existing.outcome == data.outcome
                and existing.observed_at == data.observed_at
            )
            if not same:
                raise Conflict(
                    f"loan {data.loan_id!r} already has a different outcome recorded",
                    extra={"loan_id": data.loan_id},
                )
            return existing, False
        outcome = LoanOutcome(**data.model_dump())
        session.add(outcome)
        session.commit()
        return outcome, True


def outcome_training_set(engine: Engine) -> TrainingSet:
    """Features of each outcome's firm as of its application date, labelled by the outcome."""
    rows, labels, dates = [], [], []
    skipped = 0
    with Session(engine) as session:
        outcomes = repo.outcomes(session)
        firms = repo.firms_by_refs(session, {(o.platform_org_id, o.firm_ref) for o in outcomes})
        for o in outcomes:
            firm = firms.get((o.platform_org_id, o.firm_ref))
            if firm is None or firm.id is None:
                skipped += 1
                continue
            as_of_month = month_key(o.application_date)
            metrics = repository.month_metrics(session, firm.id, before_month=as_of_month)
            rows.append(compute_features(month_figures(metrics), as_of_month))
            labels.append(int(o.outcome == "defaulted"))
            dates.append(o.application_date)
    if not rows:
        raise TrainingDataError("no loan outcome matches a firm with metrics; nothing to train on")
    return TrainingSet(
        X=np.array([[r[f] for f in FEATURE_NAMES] for r in rows]),
        y=np.array(labels, dtype=np.int64),
        features=list(FEATURE_NAMES),
        window={
            "source": "loan_outcomes",
            "outcomes": len(rows),
            "skipped_unknown_firms": skipped,
            "application_from": min(dates).isoformat(),
            "application_to": max(dates).isoformat(),
            "label": "outcome == defaulted",
        },
    )


def train_from_outcomes(engine: Engine, model_dir: Path) -> list[ModelVersion]:
    """Fit a scorecard and a challenger on reported outcomes; both are registered as candidates."""
    data = outcome_training_set(engine)
    fits = fit_kinds(data, (CHAMPION_KIND, CHALLENGER_KIND))
    return register_fits(engine, model_dir, data, fits)


def model_public(record: ModelVersion) -> ModelPublic:
    """The public view of a model version."""
    return ModelPublic.model_validate(record, from_attributes=True)


def get_model(engine: Engine, version: str) -> ModelVersion:
    """A model version or a 404."""
    with Session(engine) as session:
        record = repository.get_model(session, version)
    if record is None:
        raise NotFound(f"model version {version!r} not found")
    return record


def report_path(engine: Engine, model_dir: Path, version: str) -> Path:
    """The HTML report of a model version (ROC, calibration, score distribution), made once."""
    record = get_model(engine, version)
    out_dir = model_dir / "reports" / version
    page = out_dir / "report.html"
    if not page.exists():
        model = registry.load(record)
        if not model.holdout:
            raise NotFound(f"model version {version!r} has no holdout to report on")
        # Matplotlib takes most of a second to import: only the first report of a version pays.
        from services.credit.scoring.report import write_report

        write_report(out_dir, model_public(record), model.holdout)
    return page


def monitor(engine: Engine, version: str, *, record_events: bool) -> MonitoringPublic:
    """PSI of the version's scores per calendar month against its training scores.

    With record_events, each month over a threshold is recorded once as an event.
    """
    record = get_model(engine, version)
    reference = record.metrics.get("psi_reference")
    if not reference:
        raise NotFound(f"model version {version!r} has no training score distribution")
    expected = np.array(reference["shares"])
    # (score, how many) per month: the database counts, however many scores are stored.
    by_month: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with Session(engine) as session:
        for month, score, count in repo.score_counts(session, version):
            by_month[month].append((score, count))
    months = []
    for month in sorted(by_month):
        scores, counts = np.array(by_month[month], dtype=np.int64).T
        actual = bin_shares(scores, reference["edges"], counts)
        value = round(psi(expected, actual), 6)
        n = int(counts.sum())
        months.append(MonthPsi(month=month, scores=n, psi=value, level=level(value, n)))
    if record_events:
        _record_events(engine, version, months)
    with Session(engine) as session:
        events = repo.events(session, version)
    return MonitoringPublic(
        model_version=version,
        warn_threshold=PSI_WARN,
        alert_threshold=PSI_ALERT,
        min_scores=MIN_SCORES,
        months=months,
        events=[e.model_dump() for e in events],
    )


def _record_events(engine: Engine, version: str, months: list[MonthPsi]) -> None:
    with write_session(engine) as session:
        for m in months:
            if m.level not in ("warning", "alert"):
                continue
            threshold = PSI_ALERT if m.level == "alert" else PSI_WARN
            if repo.get_event(session, version, m.month, m.level) is None:
                session.add(
                    ModelMonitoringEvent(
                        model_version=version,
                        month=m.month,
                        level=m.level,
                        psi=m.psi,
                        threshold=threshold,
                        scores=m.scores,
                    )
                )
        session.commit()


def reproduce_score(engine: Engine, score_id: int) -> ReproductionPublic:
    """Recompute a stored score from its stored features with the model version that made it."""
    with Session(engine) as session:
        stored = repo.get_score(session, score_id)
        if stored is None:
            raise NotFound(f"score {score_id} not found")
        record = repository.get_model(session, stored.model_version)
    if record is None:
        raise NotFound(f"model version {stored.model_version!r} of score {score_id} is gone")
    model = registry.load(record)
    X = model.encode([stored.features])
    pd_12m = float(model.predict_pd_matrix(X)[0])
    reasons: list[dict[str, Any]] = reasons_from_contributions(
        model.features, model.contributions_matrix(X)
    )[0]
    return ReproductionPublic(
        score_id=score_id,
        model_version=stored.model_version,
        stored_pd_12m=stored.pd_12m,
        pd_12m=round(pd_12m, 6),
        score=score_from_pd(pd_12m),
        grade=grade_from_pd(pd_12m),
        reasons=reasons,
        matches=(
            round(pd_12m, 6) == stored.pd_12m
            and score_from_pd(pd_12m) == stored.score
            and reasons == stored.reasons
        ),
    )
