"""Matching fixtures: the matching app in-process, wired to a real in-process credit app."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from services.credit.app import create_app as create_credit_app
from services.credit.config import CreditSettings
from services.matching.app import create_app
from services.matching.config import MatchingSettings
from services.matching.credit_client import CreditClient
from tests.conftest import TEST_SECRET, principal_headers

PLATFORM = "org_plat"
BANK = "org_bank"
SLC = "org_slc"
GUARANTOR = "org_guar"


@pytest.fixture
def credit_http(make_database: Callable[[str], str], model_dir: Path) -> Iterator[TestClient]:
    """A real credit app in-process (its bootstrap model is trained once per session)."""
    settings = CreditSettings(
        database_url=make_database("credit"),
        model_dir=model_dir,
        internal_secret=TEST_SECRET,
        env="test",
        log_json=False,
        log_level="WARNING",
    )
    with TestClient(create_credit_app(settings)) as client:
        yield client


@pytest.fixture
def matching_settings(make_database: Callable[[str], str]) -> MatchingSettings:
    """Settings of a matching service on its own fresh database; no background upkeep."""
    return MatchingSettings(
        database_url=make_database("matching"),
        internal_secret=TEST_SECRET,
        env="test",
        log_json=False,
        log_level="WARNING",
        upkeep_interval_s=0,
        catalogue_ttl_s=60,
        # Some tests sign their headers once, at import; staleness is tested in tests/shared.
        principal_max_age_s=86_400,
    )


@pytest.fixture
def matching_app(matching_settings: MatchingSettings, credit_http: TestClient) -> Any:
    """The matching app, its credit client talking to the in-process credit app."""
    app = create_app(matching_settings)
    app.state.credit = CreditClient(matching_settings, http=credit_http)
    return app


@pytest.fixture
def matching(matching_app: Any) -> Iterator[TestClient]:
    """A client of the matching app (pass headers=as_(org, kind) per call)."""
    with TestClient(matching_app) as client:
        yield client


def as_(org_id: str, kind: str) -> dict[str, str]:
    """Signed principal headers of an organisation."""
    return principal_headers(org_id, kind)


@dataclass
class World:
    """A platform with firms in credit, a bank, a small loan company and a guarantor."""

    matching: TestClient
    credit: TestClient

    def firm(
        self, ref: str, *, months: int = 14, monthly_sales: int = 10_000, **over: Any
    ) -> float:
        """Register a firm with `months` of sales in credit; return its PD from a fresh score."""
        body = {
            "name": f"shop {ref}",
            "industry": "retail",
            "region_code": "330106",
            "employees": 12,
            "operating_revenue_cny": "1500000.00",
        } | over
        headers = as_(PLATFORM, "platform")
        r = self.credit.put(f"/v1/firms/{ref}", json=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        now = datetime.now(UTC)
        rows = []
        for back in range(1, months + 1):
            year, month = now.year, now.month - back
            while month <= 0:
                year, month = year - 1, month + 12
            for k in range(5):
                rows.append(
                    {
                        "txn_id": f"{ref}-{back}-{k}",
                        "type": "sale",
                        "occurred_at": f"{year:04d}-{month:02d}-1{k}T10:00:00+08:00",
                        "amount": f"{monthly_sales / 5:.2f}",
                        "currency": "CNY",
                        "order_ref": f"o-{ref}-{back}-{k}",
                        "buyer_ref": f"b-{k % 3}",
                    }
                )
        r = self.credit.post(f"/v1/firms/{ref}/transactions", json=rows, headers=headers)
        assert r.status_code == 200, r.text
        score = self.credit.get(f"/v1/firms/{ref}/score", headers=headers)
        assert score.status_code == 200, score.text
        return float(score.json()["pd_12m"])

    def put(self, org: str, kind: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT as an organisation; assert success."""
        r = self.matching.put(path, json=body, headers=as_(org, kind))
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def post(
        self, org: str, kind: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST as an organisation; assert success."""
        r = self.matching.post(path, json=body or {}, headers=as_(org, kind))
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def bank(self, budget: str = "100000000", org: str = BANK) -> None:
        """A bank lender with a budget and no concentration limits."""
        self.put(
            org,
            "lender",
            "/v1/profile",
            {
                "lender_kind": "bank",
                "name": org,
                "net_assets_cny": "5000000000",
                "lending_budget_cny": budget,
            },
        )

    def loan_product(self, org: str = BANK, **over: Any) -> dict[str, Any]:
        """Publish a loan product open to everyone unless told otherwise."""
        return self.post(org, "lender", "/v1/loan-products", loan_product(**over))

    def guarantor(self, net_assets: str = "100000000", **over: Any) -> None:
        """A guarantor profile with the regulatory defaults."""
        self.put(
            GUARANTOR,
            "guarantor",
            "/v1/profile",
            {"name": "guarantor", "net_assets_cny": net_assets} | over,
        )

    def guarantee_product(self, **over: Any) -> dict[str, Any]:
        """Publish a guarantee product."""
        body = {
            "name": "SME guarantee",
            "coverage_ratio": "0.8",
            "annual_fee_rate": "0.01",
            "max_pd": "1",
            "max_per_firm_cny": "5000000",
        } | over
        return self.post(GUARANTOR, "guarantor", "/v1/guarantee-products", body)

    def agreement(self, lender: str = BANK, lender_share: str = "0.2") -> dict[str, Any]:
        """A 4321-style agreement proposed by the lender and confirmed by the guarantor."""
        rest = 1 - float(lender_share)
        parties = [
            {"name": "bank", "role": "lender", "share": lender_share},
            {"name": "guarantor", "role": "guarantor", "share": f"{rest * 0.5:.6f}"},
            {"name": "re-guarantor", "role": "re_guarantor", "share": f"{rest * 0.375:.6f}"},
            {"name": "government", "role": "government", "share": f"{rest * 0.125:.6f}"},
        ]
        proposed = self.post(
            lender,
            "lender",
            "/v1/risk-sharing-agreements",
            {
                "name": "4321",
                "lender_org_id": lender,
                "guarantor_org_id": GUARANTOR,
                "parties": parties,
            },
        )
        return self.post(
            GUARANTOR, "guarantor", f"/v1/risk-sharing-agreements/{proposed['id']}/confirm"
        )

    def apply(self, ref: str, amount: str = "100000", term: int = 12) -> dict[str, Any]:
        """Apply for a firm as the platform."""
        return self.post(
            PLATFORM,
            "platform",
            "/v1/applications",
            {
                "firm_ref": ref,
                "amount_cny": amount,
                "term_months": term,
            },
        )


def loan_product(**over: Any) -> dict[str, Any]:
    """A loan product body open to everyone unless told otherwise."""
    return {
        "name": "working capital",
        "min_amount_cny": "1000",
        "max_amount_cny": "1000000",
        "min_term_months": 1,
        "max_term_months": 36,
        "base_rate": "0.05",
        "risk_premium_per_pd": "1",
        "max_rate": "0.24",
        "upfront_fee_rate": "0",
        "max_pd": "1",
        "max_pd_guaranteed": "1",
    } | over


@pytest.fixture
def world(matching: TestClient, credit_http: TestClient) -> World:
    """The organisations of a test, talking to matching and to credit."""
    return World(matching, credit_http)


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """Run an ASGI app in a real uvicorn server on a free port (in a thread); yield its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
