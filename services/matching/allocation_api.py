"""Allocation-run routes (operators only): compute, read, apply, discard."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from services.matching import allocation_runs
from services.matching.deps import EngineDep, SettingsDep
from services.matching.schemas_allocation import AllocationRunIn, AllocationRunPublic
from shared.internal_auth import PrincipalDep, require_kind

router = APIRouter(prefix="/v1/allocation-runs", tags=["allocation"])


@router.post("", response_model=AllocationRunPublic, status_code=201)
async def post_run(
    body: AllocationRunIn, principal: PrincipalDep, engine: EngineDep
) -> AllocationRunPublic:
    """Solve the pending pool (or a subset) and store the run with its report."""
    require_kind(principal, "admin")
    return await run_in_threadpool(allocation_runs.create_run, engine, principal, body)


@router.get("/{run_id}", response_model=AllocationRunPublic)
def get_run(run_id: str, principal: PrincipalDep, engine: EngineDep) -> AllocationRunPublic:
    """A stored run and its report."""
    require_kind(principal, "admin")
    return allocation_runs.get_run(engine, run_id)


@router.post("/{run_id}/apply", response_model=AllocationRunPublic)
def apply_run(
    run_id: str, principal: PrincipalDep, engine: EngineDep, settings: SettingsDep
) -> AllocationRunPublic:
    """Reserve capacity and refer every chosen offer in one transaction, or 409 if stale."""
    require_kind(principal, "admin")
    return allocation_runs.apply_run(engine, settings, principal, run_id)


@router.post("/{run_id}/discard", response_model=AllocationRunPublic)
def discard_run(run_id: str, principal: PrincipalDep, engine: EngineDep) -> AllocationRunPublic:
    """Discard a computed run."""
    require_kind(principal, "admin")
    return allocation_runs.discard_run(engine, run_id)
