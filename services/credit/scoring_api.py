"""Routes: outcomes (internal), model reports and monitoring (operators), batch jobs (platforms)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Response
from fastapi.responses import FileResponse

from services.credit import batch_service, scoring_service
from services.credit.deps import EngineDep, PlatformDep, SettingsDep
from services.credit.scoring_schemas import (
    BatchJobPublic,
    MonitoringPublic,
    OutcomeIn,
    OutcomePublic,
)
from shared.internal_auth import PrincipalDep, require_kind

router = APIRouter(prefix="/v1")
Version = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]


@router.post("/outcomes", response_model=OutcomePublic, include_in_schema=False)
def post_outcome(
    body: OutcomeIn, principal: PrincipalDep, engine: EngineDep, response: Response
) -> OutcomePublic:
    """Internal (matching): record a lender's loan outcome; idempotent on loan_id."""
    require_kind(principal, "service")
    outcome, created = scoring_service.record_outcome(engine, body)
    response.status_code = 201 if created else 200
    return OutcomePublic.model_validate(outcome, from_attributes=True)


@router.get("/models/{version}/report", response_class=FileResponse, tags=["models"])
def get_report(
    version: Version, principal: PrincipalDep, engine: EngineDep, settings: SettingsDep
) -> FileResponse:
    """HTML report of a model version: ROC, calibration and score distribution (operators)."""
    require_kind(principal, "admin")
    page = scoring_service.report_path(engine, settings.model_dir, version)
    return FileResponse(page, media_type="text/html; charset=utf-8")


@router.get("/models/{version}/monitoring", response_model=MonitoringPublic, tags=["models"])
def get_monitoring(
    version: Version, principal: PrincipalDep, engine: EngineDep
) -> MonitoringPublic:
    """PSI of a model version's scores per month against training, and recorded events."""
    require_kind(principal, "admin")
    return scoring_service.monitor(engine, version, record_events=False)


@router.post("/models/{version}/monitoring", response_model=MonitoringPublic, tags=["models"])
def run_monitoring(
    version: Version, principal: PrincipalDep, engine: EngineDep
) -> MonitoringPublic:
    """Compute the PSI per month and record an event for each month over a threshold."""
    require_kind(principal, "admin")
    return scoring_service.monitor(engine, version, record_events=True)


@router.post("/score-batches", response_model=BatchJobPublic, status_code=202, tags=["scores"])
def post_batch(
    principal: PlatformDep, engine: EngineDep, background: BackgroundTasks
) -> BatchJobPublic:
    """Start scoring every firm of the caller; poll the job for its status."""
    job = batch_service.create_job(engine, principal.org_id)
    background.add_task(batch_service.run_job, engine, job.id)
    return BatchJobPublic.model_validate(job, from_attributes=True)


@router.get("/score-batches/{job_id}", response_model=BatchJobPublic, tags=["scores"])
def get_batch(
    job_id: Annotated[str, Path(max_length=32)], principal: PlatformDep, engine: EngineDep
) -> BatchJobPublic:
    """A batch scoring job of the caller: status and progress."""
    job = batch_service.get_job(engine, principal.org_id, job_id)
    return BatchJobPublic.model_validate(job, from_attributes=True)
