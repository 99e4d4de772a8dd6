"""Demo data loaded through the public API: two platforms, two lenders, a guarantor, products."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.cli.client import ApiError, SmefinClient
from services.credit.generator import GeneratorParams, simulate

PLATFORMS = (("Silk Road Mall", 101), ("Jade Market", 202))
FIRMS_PER_PLATFORM = 30
# Smaller shops than the generator's default keep `make run` quick (about 60 orders a month).
DEMO_PARAMS = GeneratorParams(median_monthly_sales=9_000.0)

LOAN_PRODUCTS: dict[str, list[dict[str, Any]]] = {
    "Hangzhou Commerce Bank": [
        {
            "name": "E-commerce working capital",
            "min_amount_cny": "10000",
            "max_amount_cny": "1000000",
            "min_term_months": 3,
            "max_term_months": 12,
            "base_rate": "0.045",
            "risk_premium_per_pd": "1.2",
            "max_rate": "0.18",
            "upfront_fee_rate": "0.005",
            "max_pd": "0.06",
            "max_pd_guaranteed": "0.12",
            "min_history_months": 12,
            "min_sales_12m_cny": "100000",
        },
        {
            "name": "Inclusive micro loan",
            "min_amount_cny": "5000",
            "max_amount_cny": "300000",
            "min_term_months": 6,
            "max_term_months": 24,
            "base_rate": "0.039",
            "risk_premium_per_pd": "1.0",
            "max_rate": "0.15",
            "upfront_fee_rate": "0",
            "max_pd": "0.04",
            "size_classes": ["small", "micro"],
            "min_history_months": 6,
        },
    ],
    "Qianjiang Small Loan Co.": [
        {
            "name": "Fast seller loan",
            "min_amount_cny": "1000",
            "max_amount_cny": "200000",
            "min_term_months": 1,
            "max_term_months": 12,
            "base_rate": "0.08",
            "risk_premium_per_pd": "1.5",
            "max_rate": "0.24",
            "upfront_fee_rate": "0.01",
            "max_pd": "0.15",
            "min_history_months": 3,
        },
    ],
}
LENDERS = {
    "Hangzhou Commerce Bank": {
        "lender_kind": "bank",
        "net_assets_cny": "5000000000",
        "lending_budget_cny": "200000000",
    },
    "Qianjiang Small Loan Co.": {
        "lender_kind": "small_loan_company",
        "net_assets_cny": "300000000",
        "lending_budget_cny": "150000000",
    },
}
GUARANTOR = "Zhejiang SME Financing Guarantee"
GUARANTOR_PROFILE = {"net_assets_cny": "2000000000", "serves_small_micro": True}
GUARANTEE_PRODUCT = {
    "name": "Policy guarantee for online sellers",
    "coverage_ratio": "0.8",
    "annual_fee_rate": "0.008",
    "policy": True,
    "max_pd": "0.12",
    "max_per_firm_cny": "1000000",
}
# "4321": guarantor 40%, provincial re-guarantor 30%, bank 20%, local government 10%.
RISK_SHARES = (
    ("guarantor", "0.4"),
    ("re_guarantor", "0.3"),
    ("lender", "0.2"),
    ("government", "0.1"),
)


def load_demo(gateway_url: str, admin_key: str, state_file: Path) -> dict[str, Any]:
    """Create demo organisations, keys, firms, histories and products; keys go to state_file."""
    state: dict[str, Any] = {"platforms": [], "lenders": [], "guarantors": []}
    with SmefinClient(gateway_url, admin_key) as admin:
        for name, seed in PLATFORMS:
            org = admin.create_org(name, "platform")
            key = admin.create_key(org["id"], "demo")["token"]
            state["platforms"].append({"name": name, "org_id": org["id"], "api_key": key})
            with SmefinClient(gateway_url, key) as platform:
                firms = list(simulate(FIRMS_PER_PLATFORM, seed=seed, params=DEMO_PARAMS))
                for firm in firms:
                    platform.request(
                        "PUT",
                        f"/v1/firms/{firm.firm_ref}",
                        {
                            "name": f"{name} shop {firm.index}",
                            "industry": firm.industry,
                            "region_code": firm.region_code,
                            "employees": firm.employees,
                            "operating_revenue_cny": str(firm.annual_revenue_cny),
                        },
                    )
                report = platform.upload_stream(
                    row for firm in firms for row in firm.transactions()
                )
                state["platforms"][-1]["ingest_report"] = {
                    k: report[k] for k in ("received", "inserted", "duplicates", "rejected")
                }
        for name, profile in LENDERS.items():
            org = admin.create_org(name, "lender")
            key = admin.create_key(org["id"], "demo")["token"]
            state["lenders"].append({"name": name, "org_id": org["id"], "api_key": key})
            with SmefinClient(gateway_url, key) as lender:
                lender.request("PUT", "/v1/profile", {"name": name, **profile})
                for product in LOAN_PRODUCTS[name]:
                    lender.request("POST", "/v1/loan-products", product)
        org = admin.create_org(GUARANTOR, "guarantor")
        key = admin.create_key(org["id"], "demo")["token"]
        state["guarantors"].append({"name": GUARANTOR, "org_id": org["id"], "api_key": key})
        bank = state["lenders"][0]
        with SmefinClient(gateway_url, key) as guarantor:
            guarantor.request("PUT", "/v1/profile", {"name": GUARANTOR, **GUARANTOR_PROFILE})
            guarantor.request("POST", "/v1/guarantee-products", GUARANTEE_PRODUCT)
            parties = [{"name": role, "role": role, "share": share} for role, share in RISK_SHARES]
            proposed = guarantor.request(
                "POST",
                "/v1/risk-sharing-agreements",
                {
                    "name": "4321 risk sharing",
                    "lender_org_id": bank["org_id"],
                    "guarantor_org_id": org["id"],
                    "parties": parties,
                },
            )
        with SmefinClient(gateway_url, bank["api_key"]) as lender:
            lender.request("POST", f"/v1/risk-sharing-agreements/{proposed['id']}/confirm")
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=2))
    state_file.chmod(0o600)
    return state


def demo_present(gateway_url: str, admin_key: str, state_file: Path) -> bool:
    """Whether the demo recorded in state_file is still in the gateway's database."""
    if not state_file.exists():
        return False
    try:
        state = json.loads(state_file.read_text())
        org_id = state["platforms"][0]["org_id"]
        with SmefinClient(gateway_url, admin_key) as admin:
            orgs = admin.request("GET", "/v1/organizations", params={"limit": 500})
        return any(o["id"] == org_id for o in orgs["items"])
    except (ValueError, KeyError, IndexError, ApiError):
        return False
