"""Allocation runs: solve the pending pool, store the run, then apply it atomically or discard it.

Applying re-reads the ledger inside one write transaction, checks the stored choice with
verify() against today's headroom, and accepts each chosen offer exactly as a firm would
(applications.accept_locked); anything that moved makes the run stale and reserves nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.matching import applications as deals
from services.matching import ledger, repository, repository_deals
from services.matching.allocation import (
    ApplicationRow,
    OptionRow,
    build_instance,
    run_summary,
    solve,
    verify,
)
from services.matching.allocation_input import map_pool, parties
from services.matching.config import MatchingSettings
from services.matching.models import AllocationRun
from services.matching.pool import read_pool
from services.matching.schemas_allocation import AllocationRunIn, AllocationRunPublic
from shared.db import utcnow, write_session
from shared.errors import Conflict, NotFound, Unprocessable, field_error
from shared.internal_auth import Principal

POOL_LIMIT = 10_000


class AllocationStale(Conflict):
    """The ledger moved since the run was computed: applying it would break a limit."""

    code, title = "allocation-stale", "Allocation run is stale"


class IllegalRunTransition(Conflict):
    """The run is not in a state that allows this change."""

    code, title = "illegal-transition", "Illegal transition"


def public(run: AllocationRun) -> AllocationRunPublic:
    """A stored run as its answer."""
    r = run.report
    return AllocationRunPublic.model_validate(
        {
            **{k: r[k] for k in ("bound_method", "greedy_ratio", "proven_optimal", "seconds")},
            "id": run.id,
            "status": run.status,
            "objective": run.objective,
            "objective_value": run.objective_value,
            "upper_bound": run.upper_bound,
            "gap": run.gap,
            "greedy_value": run.greedy_value,
            "applications_considered": run.applications_considered,
            "applications_financed": run.applications_financed,
            "firms_financed": run.firms_financed,
            "financed_amount": r["financed_amount"],
            "choices": r["choices"],
            "left_out": r["left_out"],
            "stale_reasons": run.stale_reasons,
            "created_at": run.created_at,
            "applied_at": run.applied_at,
            "discarded_at": run.discarded_at,
        }
    )


def _ineligible(session: Session, application_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Every upstream reason code an application's combinations were not offered for."""
    out: dict[str, tuple[str, ...]] = {}
    for app_id in application_ids:
        app = repository_deals.get_application(session, app_id)
        if app is not None and app.not_offered:
            out[app_id] = tuple(sorted({c for n in app.not_offered for c in n["reasons"]}))
    return out


def create_run(engine: Engine, principal: Principal, data: AllocationRunIn) -> AllocationRunPublic:
    """Read the pending pool (or the given subset), solve it, store and return the run."""
    now = utcnow()
    with Session(engine) as session:
        pool = read_pool(session, POOL_LIMIT)
        chosen_apps = pool.applications
        if data.application_ids is not None:
            by_id = {a.application_id: a for a in pool.applications}
            missing = [
                field_error(("body", "application_ids", i), f"{x!r} is not a pending application")
                for i, x in enumerate(data.application_ids)
                if x not in by_id
            ]
            if missing:
                raise Unprocessable("some applications are not pending", errors=missing)
            wanted = set(data.application_ids)
            chosen_apps = [a for a in pool.applications if a.application_id in wanted]
        ids = [a.application_id for a in chosen_apps]
        offers = repository_deals.offers_of_many(session, ids)
        mapped = map_pool(session, pool, chosen_apps, offers, _ineligible(session, ids), now)
    result = solve(mapped.instance, data.objective, time_limit_s=data.time_limit_s)
    problems = verify(mapped.instance, result.chosen)
    if problems:  # the solver and verify() are written apart; never store a run that breaks one
        raise RuntimeError("allocation broke a limit: " + "; ".join(problems))
    report: dict[str, Any] = run_summary(mapped.instance, result)
    for c in report["choices"]:
        key = (c["application_id"], c["loan_product_id"], c["guarantee_product_id"])
        c["offer_id"] = mapped.offer_of[key]
    run = AllocationRun(
        objective=data.objective.value,
        created_by=principal.org_id,
        objective_value=Decimal(report["objective_value"]),
        upper_bound=Decimal(report["upper_bound"]),
        greedy_value=Decimal(report["greedy_value"]),
        gap=float(report["gap"]),
        applications_considered=len(chosen_apps),
        applications_financed=int(report["applications_financed"]),
        firms_financed=int(report["firms_financed"]),
        report=report,
        created_at=now,
    )
    with write_session(engine) as session:
        session.add(run)
        session.commit()
    return public(run)


def get_run(engine: Engine, run_id: str) -> AllocationRunPublic:
    """A stored run."""
    with Session(engine) as session:
        run = session.get(AllocationRun, run_id)
        if run is None:
            raise NotFound(f"allocation run {run_id!r} not found")
        return public(run)


def _lock_run(session: Session, run_id: str) -> AllocationRun:
    stmt = (
        select(AllocationRun)
        .where(AllocationRun.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    run = session.exec(stmt).first()
    if run is None:
        raise NotFound(f"allocation run {run_id!r} not found")
    return run


def _check_today(session: Session, choices: list[dict[str, Any]]) -> list[str]:
    """What would break if the stored choices were accepted now (empty: all fit)."""
    pool = read_pool(session, POOL_LIMIT)
    lenders, guarantors = parties(pool)
    pending = {a.application_id: a for a in pool.applications}
    unseen = [c["application_id"] for c in choices if c["application_id"] not in pending]
    if unseen:
        return [f"{app_id}: not in the pending pool" for app_id in unseen]
    apps = [
        ApplicationRow(
            id=c["application_id"],
            firm_key=pending[c["application_id"]].firm_key,
            amount_cny=Decimal(c["amount"]),
            arrival=i,
            group_key=pending[c["application_id"]].group_id,
        )
        for i, c in enumerate(choices)
    ]
    exposure = {c["application_id"]: Decimal(c["guaranteed_exposure"]) for c in choices}
    options = [
        OptionRow(
            application_id=c["application_id"],
            loan_product_id=c["loan_product_id"],
            lender_id=c["lender_id"],
            expected_surplus_cny=Decimal(0),
            guarantee_product_id=c["guarantee_product_id"],
            guarantor_id=c["guarantor_id"],
            coverage=(
                exposure[c["application_id"]] / Decimal(c["amount"])
                if c["guarantor_id"]
                else Decimal(0)
            ),
        )
        for c in choices
    ]
    known = {x.id for x in lenders} | {x.id for x in guarantors}
    gone = [
        f"{c['application_id']}: {who} has no profile"
        for c in choices
        for who in (c["lender_id"], c["guarantor_id"])
        if who is not None and who not in known
    ]
    if gone:
        return gone
    instance = build_instance(apps, options, lenders, guarantors)
    return verify(instance, np.arange(len(choices), dtype=np.int64))


def _mark_stale(engine: Engine, run_id: str, reasons: list[str]) -> None:
    with write_session(engine) as session:
        run = _lock_run(session, run_id)
        if run.status == "computed":
            run.status = "stale"
            run.stale_reasons = reasons
            session.add(run)
            session.commit()


def apply_run(
    engine: Engine, settings: MatchingSettings, principal: Principal, run_id: str
) -> AllocationRunPublic:
    """Accept every chosen offer in one transaction, or refuse (409 allocation-stale) and hold none.

    Lock order matches a single acceptance (application, then lender, then guarantor): all the
    run's applications by id, then its lenders, then its guarantors, each sorted.
    """
    now = utcnow()
    with write_session(engine) as session:
        run = _lock_run(session, run_id)
        if run.status != "computed":
            raise IllegalRunTransition(f"run is {run.status}; only a computed run can be applied")
        choices = sorted(run.report["choices"], key=lambda c: c["application_id"])
        problems: list[str] = []
        taken = []
        for c in choices:
            app = repository_deals.lock_application(session, c["application_id"])
            if app is None or app.status != "offered":
                status = app.status if app is not None else "gone"
                problems.append(f"{c['application_id']}: application is {status}")
                continue
            offers = repository_deals.offers_of(session, app.id)
            offer = next((o for o in offers if o.id == c["offer_id"]), None)
            if offer is None or offer.status != "offered" or offer.expires_at <= now:
                problems.append(f"{c['application_id']}: offer {c['offer_id']} is no longer open")
                continue
            taken.append((app, offers, offer))
        for org in sorted({c["lender_id"] for c in choices}):
            repository.lock_lender(session, org)
        for org in sorted({c["guarantor_id"] for c in choices if c["guarantor_id"]}):
            repository.lock_guarantor(session, org)
        if not problems:
            problems = _check_today(session, choices)
        if not problems:
            try:
                for app, offers, offer in taken:
                    deals.accept_locked(
                        session, settings, app, offers, offer, principal.org_id, now
                    )
            except ledger.CapacityExceeded as exc:  # verify() and the ledger disagree: refuse
                problems = [exc.detail]
        if not problems:
            run.status = "applied"
            run.applied_at = now
            session.add(run)
            session.commit()
            return public(run)
        session.rollback()
    _mark_stale(engine, run_id, problems)
    raise AllocationStale(
        "the ledger changed since this run was computed; nothing was reserved",
        extra={"reasons": problems},
    )


def discard_run(engine: Engine, run_id: str) -> AllocationRunPublic:
    """Drop a computed (or stale) run; applied or discarded runs cannot be discarded."""
    now = utcnow()
    with write_session(engine) as session:
        run = _lock_run(session, run_id)
        if run.status not in ("computed", "stale"):
            raise IllegalRunTransition(f"run is {run.status}; it cannot be discarded")
        run.status = "discarded"
        run.discarded_at = now
        session.add(run)
        session.commit()
        return public(run)
