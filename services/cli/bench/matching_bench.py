"""Matching benchmarks: offers over 1,000 product combinations, and a new firm to ranked offers.

offers_p50_ms_service: one application priced against 1,000 active combinations (100 loan
products, alone and with each of 9 guarantee products), in the matching process: capacity
reads, screening, pricing, ranking and the write of the application and its offers. The credit
snapshot is fetched once from the running credit (a real one) and reused, so the figure is
matching's own time; ratio = over the time to write the same rows without evaluating anything.

new_firm_to_offers_s: through the gateway, register a firm, stream 24 months of transactions
(50,000 rows; 5,000 with --quick) and apply: scoring and ranked offers included. Rows are
generated before the clock starts. ratio = over the upload alone (the floor the path cannot beat).
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal
from typing import Any

import httpx

from services.cli import stack as stack_mod
from services.cli.bench.results import Row
from services.cli.bench.setup import BenchStack
from services.cli.client import SmefinClient
from services.credit.generator import GeneratorParams, simulate
from services.matching import applications
from services.matching.catalogue import CatalogueCache
from services.matching.config import MatchingSettings
from services.matching.models import (
    Application,
    GuaranteeProduct,
    GuarantorProfile,
    LenderProfile,
    LoanProduct,
    Offer,
    RiskSharingAgreement,
)
from services.matching.schemas_deals import ApplicationIn
from shared.db import make_engine, utcnow, write_session
from shared.http_client import internal_headers
from shared.internal_auth import Principal
from shared.migrations import upgrade_to_head

D = Decimal
N_LENDERS, LOANS_PER_LENDER, N_GUARANTORS, GUARANTEES_PER_GUARANTOR = 5, 20, 3, 3


def _seed_catalogue(url: str) -> None:
    """100 loan products x (alone + 9 guarantee products) = 1,000 combinations, all agreements."""
    engine = make_engine(url)
    with write_session(engine) as session:
        for g in range(N_GUARANTORS):
            session.add(
                GuarantorProfile(
                    org_id=f"guar{g}",
                    name=f"guarantor {g}",
                    net_assets_cny=D(10**9),
                    leverage_multiple=D(10),
                    single_client_limit=D("0.1"),
                    related_group_limit=D("0.15"),
                )
            )
            for k in range(GUARANTEES_PER_GUARANTOR):
                session.add(
                    GuaranteeProduct(
                        guarantor_org_id=f"guar{g}",
                        name=f"g{g}-{k}",
                        coverage_ratio=D("0.8"),
                        annual_fee_rate=D("0.005") + D(k) / 1000,
                        max_pd=D("0.5"),
                        max_per_firm_cny=D(5_000_000),
                    )
                )
        for lender in range(N_LENDERS):
            session.add(
                LenderProfile(
                    org_id=f"lender{lender}",
                    lender_kind="bank",
                    name=f"bank {lender}",
                    net_assets_cny=D(10**10),
                    lending_budget_cny=D(10**9),
                )
            )
            for g in range(N_GUARANTORS):
                session.add(
                    RiskSharingAgreement(
                        lender_org_id=f"lender{lender}",
                        guarantor_org_id=f"guar{g}",
                        name="4321",
                        lender_share=D("0.2"),
                        proposed_by=f"lender{lender}",
                        status="active",
                        parties=[
                            {"name": "bank", "role": "lender", "share": "0.2"},
                            {"name": "guarantor", "role": "guarantor", "share": "0.4"},
                            {"name": "re-guarantor", "role": "re_guarantor", "share": "0.3"},
                            {"name": "government", "role": "government", "share": "0.1"},
                        ],
                    )
                )
            for k in range(LOANS_PER_LENDER):
                session.add(
                    LoanProduct(
                        lender_org_id=f"lender{lender}",
                        name=f"loan {lender}-{k}",
                        min_amount_cny=D(1000),
                        max_amount_cny=D(1_000_000) + k * 1000,
                        min_term_months=1,
                        max_term_months=12 + k,
                        base_rate=D("0.04") + D(k) / 1000,
                        risk_premium_per_pd=D(1) + D(k) / 10,
                        max_rate=D("0.24"),
                        upfront_fee_rate=D(k % 3) / 200,
                        max_pd=D("0.3"),
                        max_pd_guaranteed=D("0.5"),
                        # a few products exclude the firm, so reasons are part of the work
                        min_history_months=36 if k % 10 == 9 else 0,
                    )
                )
        session.commit()
    engine.dispose()


def _offers_p50(bench: BenchStack, firm_ref: str, quick: bool) -> Row:
    principal = Principal(bench.platform_org_id, "platform", frozenset())
    resp = httpx.get(
        bench.stack.url("credit") + f"/v1/firms/{firm_ref}/snapshot",
        headers=internal_headers(principal, bench.internal_secret),
        timeout=30,
    )
    resp.raise_for_status()
    snapshot = resp.json()
    url = f"sqlite:///{bench.work_dir / 'matching_offers.db'}"
    upgrade_to_head(stack_mod.MIGRATIONS["matching"], url)
    _seed_catalogue(url)
    engine = make_engine(url)
    settings = MatchingSettings(database_url=url, env="development")
    cache = CatalogueCache(ttl_s=3600)
    data = ApplicationIn(firm_ref=firm_ref, amount_cny=D(100_000), term_months=12)
    n = 30 if quick else 300
    combos = 0
    timings = []
    for _ in range(n + 5):
        start = time.perf_counter()
        answer = applications.offers_for_snapshot(
            engine, settings, cache, principal, data, snapshot
        )
        timings.append(time.perf_counter() - start)
        combos = len(answer.offers) + len(answer.not_offered)
    p50 = statistics.median(timings[5:]) * 1000
    floor = []
    for _ in range(n):
        start = time.perf_counter()
        app = Application(
            platform_org_id=principal.org_id,
            firm_ref=firm_ref,
            amount_cny=data.amount_cny,
            term_months=12,
            purpose="working_capital",
            snapshot=snapshot,
            not_offered=[dict(n) for n in answer.not_offered],
        )
        with write_session(engine) as session:
            session.add(app)
            session.add_all(
                Offer(
                    application_id=app.id,
                    loan_product_id=o.loan_product_id,
                    lender_org_id=o.lender_org_id,
                    rank=o.rank,
                    amount_cny=o.amount_cny,
                    term_months=o.term_months,
                    annual_rate=o.annual_rate,
                    upfront_fee_cny=o.upfront_fee_cny,
                    monthly_payment_cny=o.monthly_payment_cny,
                    total_cost_cny=o.total_cost_cny,
                    all_in_annual_cost=o.all_in_annual_cost,
                    expires_at=utcnow(),
                )
                for o in answer.offers
            )
            session.commit()
        floor.append(time.perf_counter() - start)
    engine.dispose()
    floor_ms = statistics.median(floor) * 1000
    return Row(
        "offers_p50_ms_service",
        round(p50, 3),
        "ms",
        round(p50 / floor_ms, 3) if floor_ms else None,
        20.0,
        note=f"{combos} combinations, {len(answer.offers)} offers, {n} runs; "
        f"write-only floor {floor_ms:.2f} ms; credit snapshot excluded",
    )


def _setup_lender(bench: BenchStack) -> None:
    with SmefinClient(bench.stack.url("gateway"), bench.admin_key) as admin:
        org = admin.create_org("bench bank", "lender")
        key = admin.create_key(org["id"], "bench")["token"]
    with SmefinClient(bench.stack.url("gateway"), key) as lender:
        lender.request(
            "PUT",
            "/v1/profile",
            {
                "lender_kind": "bank",
                "name": "bench bank",
                "net_assets_cny": "1000000000",
                "lending_budget_cny": "100000000",
            },
        )
        for k in range(5):
            lender.request(
                "POST",
                "/v1/loan-products",
                {
                    "name": f"bench {k}",
                    "min_amount_cny": "1000",
                    "max_amount_cny": "1000000",
                    "min_term_months": 1,
                    "max_term_months": 24,
                    "base_rate": f"0.0{4 + k}",
                    "risk_premium_per_pd": "1",
                    "max_rate": "0.24",
                    "max_pd": "0.5",
                },
            )


def _new_firm_to_offers(bench: BenchStack, quick: bool) -> Row:
    _setup_lender(bench)
    target_rows = 5_000 if quick else 50_000
    # Generated firms vary (health, shocks): take the one whose history is closest to the target.
    params = GeneratorParams(median_monthly_sales=target_rows / 24 * 150.0, sales_sigma=0.0)
    candidates = []
    for sim in simulate(8, seed=4242, months=24, params=params):
        sim_rows: list[dict[str, Any]] = list(sim.transactions("bench-new"))
        candidates.append((abs(len(sim_rows) - target_rows), sim.index, sim, sim_rows))
    _, _, firm, rows = min(candidates, key=lambda c: (c[0], c[1]))
    gateway = bench.stack.url("gateway")
    with SmefinClient(gateway, bench.platform_key) as platform:
        start = time.perf_counter()
        platform.request(
            "PUT",
            "/v1/firms/bench-new",
            {
                "industry": firm.industry,
                "region_code": firm.region_code,
            },
        )
        report = platform.upload_stream(iter(rows))
        uploaded = time.perf_counter()
        answer = platform.request(
            "POST",
            "/v1/applications",
            {
                "firm_ref": "bench-new",
                "amount_cny": "50000",
                "term_months": 12,
            },
        )
        total = time.perf_counter() - start
    upload_s = uploaded - start
    return Row(
        "new_firm_to_offers_s",
        round(total, 3),
        "s",
        round(total / upload_s, 3) if upload_s else None,
        1.0,
        note=f"{len(rows)} rows ({report.get('inserted')} inserted), upload {upload_s:.3f} s, "
        f"{len(answer['offers'])} offers",
    )


def run(bench: BenchStack, quick: bool) -> list[Row]:
    """Both matching rows, on the bench stack."""
    firm_ref = bench.firm_with_history(months=24, orders_per_month=Decimal(60))
    return [_offers_p50(bench, firm_ref, quick), _new_firm_to_offers(bench, quick)]
