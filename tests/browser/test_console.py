"""The back-office console in a real browser against the real services.

A platform applies for a firm and accepts an offer; the lender signs in to the console, opens the
referral, sees the score and the 24-month chart, approves it with a reason and sees the state
change; then the firm's net sales collapse and the early warning shows up in the console.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.cli.client import SmefinClient
from services.credit.generator import GeneratorParams, simulate
from tests.e2e.conftest import LiveStack

LENDER_PROFILE = {
    "name": "Console Test Small Loan Co.",
    "lender_kind": "small_loan_company",
    "net_assets_cny": "300000000",
    "lending_budget_cny": "150000000",
}
PRODUCT = {
    "name": "Fast seller loan",
    "min_amount_cny": "1000",
    "max_amount_cny": "200000",
    "min_term_months": 1,
    "max_term_months": 12,
    "base_rate": "0.08",
    "risk_premium_per_pd": "1.5",
    "max_rate": "0.24",
    "upfront_fee_rate": "0.01",
    "max_pd": "0.30",
    "min_history_months": 3,
}


def _setup(stack: LiveStack) -> dict[str, Any]:
    """Orgs, keys, a firm with 24 months of sales, and a referral waiting for the lender."""
    url = stack.gateway
    with SmefinClient(url, stack.admin_key) as admin:
        platform_org = admin.create_org("Console Mall", "platform")
        platform_key = admin.create_key(platform_org["id"], "browser")["token"]
        lender_org = admin.create_org(LENDER_PROFILE["name"], "lender")
        lender_key = admin.create_key(lender_org["id"], "browser")["token"]
    with SmefinClient(url, lender_key) as lender:
        lender.request("PUT", "/v1/profile", LENDER_PROFILE)
        lender.request("POST", "/v1/loan-products", PRODUCT)
    params = GeneratorParams(median_monthly_sales=20_000.0)
    with SmefinClient(url, platform_key) as platform:
        for firm in simulate(6, seed=11, params=params):
            platform.request(
                "PUT",
                f"/v1/firms/{firm.firm_ref}",
                {
                    "name": f"Shop {firm.index}",
                    "industry": firm.industry,
                    "region_code": firm.region_code,
                    "employees": firm.employees,
                    "operating_revenue_cny": str(firm.annual_revenue_cny),
                },
            )
            platform.upload_stream(firm.transactions())
            app = platform.request(
                "POST",
                "/v1/applications",
                {"firm_ref": firm.firm_ref, "amount_cny": "20000", "term_months": 6},
            )
            mine = [o for o in app["offers"] if o["lender_org_id"] == lender_org["id"]]
            if not mine:
                continue
            platform.request(
                "POST",
                f"/v1/firms/{firm.firm_ref}/consents",
                {"grantee_org_id": lender_org["id"], "purpose": "financing_review"},
            )
            accepted = platform.request(
                "POST", f"/v1/applications/{app['id']}/accept", {"offer_id": mine[0]["id"]}
            )
            return {
                "platform_key": platform_key,
                "lender_key": lender_key,
                "firm_ref": firm.firm_ref,
                "referral_id": accepted["referral_id"],
            }
    raise AssertionError("no simulated firm got an offer from the test lender")


def _collapse_net_sales(url: str, platform_key: str, firm_ref: str) -> None:
    """Refund 80% of each of the last three complete months' sales: net sales collapse."""
    with SmefinClient(url, platform_key) as platform:
        metrics = platform.request("GET", f"/v1/firms/{firm_ref}/metrics")["months"]
        this_month = date.today().strftime("%Y-%m")
        complete = [m for m in metrics if m["month"] < this_month and m["currency"] == "CNY"]
        rows = []
        for m in complete[-3:]:
            amount = (Decimal(m["sales"]) * Decimal("0.8")).quantize(Decimal("0.01"))
            rows.append(
                {
                    "txn_id": f"console-refund-{m['month']}",
                    "firm_ref": firm_ref,
                    "type": "refund",
                    "occurred_at": f"{m['month']}-20T12:00:00+08:00",
                    "amount": str(amount),
                    "currency": "CNY",
                    "order_ref": f"console-refund-{m['month']}",
                }
            )
        report = platform.upload_stream(iter(rows))
        assert report["inserted"] == 3, report


def test_lender_approves_a_referral_and_sees_an_early_warning(
    live_stack: LiveStack, browser: Any, shots: Path
) -> None:
    data = _setup(live_stack)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(20_000)
    base = live_stack.gateway

    # A wrong key is refused on the sign-in page.
    page.goto(f"{base}/console")
    page.fill("#api-key", "smf_not_a_key")
    page.click("#sign-in-button")
    page.wait_for_selector("text=That API key was not accepted.")
    page.screenshot(path=str(shots / "01-sign-in-refused.png"))

    page.fill("#api-key", data["lender_key"])
    page.click("#sign-in-button")
    row = page.wait_for_selector(f"#referrals tr[data-id='{data['referral_id']}']")
    assert data["firm_ref"] in row.inner_text()
    page.screenshot(path=str(shots / "02-referral-queue.png"), full_page=True)

    # The guaranteed-only filter hides this unguaranteed referral.
    page.select_option("#filter-guaranteed", "yes")
    page.wait_for_selector("#empty")
    page.select_option("#filter-guaranteed", "any")
    page.click(f"a[href='#/referral/{data['referral_id']}']")
    page.wait_for_selector("#sales-chart")
    assert page.inner_text("#referral-status") == "referred"
    assert int(page.inner_text("#firm-score")) > 0
    assert page.inner_text("#firm-grade").strip()
    assert page.locator("#sales-chart rect.bar-sales").count() == 24
    assert page.inner_text("#loss-share").endswith("%")
    page.screenshot(path=str(shots / "03-referral-firm-page.png"), full_page=True)

    page.fill("#decision-note", "steady sales, low refunds")
    page.click("#approve")
    page.wait_for_selector("#referral-status:text('approved')")
    assert "referral.lender_approved" in page.inner_text("#events")
    page.screenshot(path=str(shots / "04-approved.png"), full_page=True)

    # Matching told credit the firm is monitored; its net sales now collapse.
    _collapse_net_sales(base, data["platform_key"], data["firm_ref"])
    page.click("#nav-portfolio")
    page.wait_for_selector("#exposure")
    assert data["firm_ref"] in page.inner_text("#exposure")
    warning = page.wait_for_selector("#portfolio-warnings tr.warning")
    assert "sales_drop" in page.inner_text("#portfolio-warnings")
    assert data["firm_ref"] in warning.inner_text()
    page.screenshot(path=str(shots / "05-portfolio-early-warning.png"), full_page=True)
    page.click("#nav-warnings")
    page.wait_for_selector("#warnings tr.warning")
    assert "drop_fraction=" in page.inner_text("#warnings")
    page.screenshot(path=str(shots / "06-early-warnings.png"), full_page=True)
    assert errors == []
