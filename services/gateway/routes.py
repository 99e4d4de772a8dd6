"""The public route table: every forwarded /v1 route, its owning service and the scope it needs.

Tests walk this table (tenancy, scopes), so a route added here cannot escape them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForwardRoute:
    """One public route served by a service."""

    method: str
    path: str
    service: str
    scope: str
    summary: str
    stream: bool = False
    # Success statuses the service answers besides the one its router declares (same body),
    # e.g. a PUT that answers 201 on create and 200 on replace; openapi.py documents them.
    also_answers: tuple[int, ...] = ()


FORWARD_ROUTES: tuple[ForwardRoute, ...] = (
    # credit
    ForwardRoute(
        "PUT",
        "/v1/firms/{firm_ref}",
        "credit",
        "firms:write",
        "Create or replace a firm",
        also_answers=(201,),
    ),
    ForwardRoute("GET", "/v1/firms/{firm_ref}", "credit", "firms:read", "Read a firm"),
    ForwardRoute("GET", "/v1/firms", "credit", "firms:read", "List the caller's firms"),
    ForwardRoute(
        "POST",
        "/v1/firms/{firm_ref}/transactions",
        "credit",
        "transactions:write",
        "Upload a JSON array of a firm's transactions",
    ),
    ForwardRoute(
        "POST",
        "/v1/transactions/bulk",
        "credit",
        "transactions:write",
        "Stream NDJSON or CSV transactions of any size",
        stream=True,
    ),
    ForwardRoute(
        "GET", "/v1/firms/{firm_ref}/metrics", "credit", "firms:read", "Monthly metrics of a firm"
    ),
    ForwardRoute("GET", "/v1/firms/{firm_ref}/score", "credit", "firms:read", "Score a firm"),
    ForwardRoute(
        "PUT", "/v1/platform-settings", "credit", "firms:write", "Set the platform's time zone"
    ),
    ForwardRoute(
        "GET", "/v1/platform-settings", "credit", "firms:read", "Read the platform's settings"
    ),
    ForwardRoute("GET", "/v1/models", "credit", "models:read", "List model versions"),
    ForwardRoute(
        "POST", "/v1/models/{version}/promote", "credit", "models:write", "Promote a model version"
    ),
    ForwardRoute(
        "GET", "/v1/models/{version}/report", "credit", "models:read", "Report of a model version"
    ),
    ForwardRoute(
        "GET",
        "/v1/models/{version}/monitoring",
        "credit",
        "models:read",
        "Score stability (PSI) of a model version per month",
    ),
    ForwardRoute(
        "POST",
        "/v1/models/{version}/monitoring",
        "credit",
        "models:write",
        "Compute PSI per month and record threshold events",
    ),
    ForwardRoute(
        "POST", "/v1/score-batches", "credit", "scores:batch", "Score every firm of the caller"
    ),
    ForwardRoute(
        "GET", "/v1/score-batches/{job_id}", "credit", "scores:batch", "Read a batch scoring job"
    ),
    # matching
    ForwardRoute("PUT", "/v1/profile", "matching", "products:write", "Set the caller's profile"),
    ForwardRoute("GET", "/v1/profile", "matching", "products:read", "Read the caller's profile"),
    ForwardRoute(
        "POST", "/v1/loan-products", "matching", "products:write", "Publish a loan product"
    ),
    ForwardRoute("GET", "/v1/loan-products", "matching", "products:read", "List loan products"),
    ForwardRoute(
        "GET", "/v1/loan-products/{product_id}", "matching", "products:read", "Read a loan product"
    ),
    ForwardRoute(
        "POST", "/v1/applications", "matching", "applications:write", "Apply for financing"
    ),
    ForwardRoute(
        "GET",
        "/v1/applications/{application_id}",
        "matching",
        "applications:read",
        "Read an application and its offers",
    ),
    ForwardRoute(
        "POST",
        "/v1/applications/{application_id}/accept",
        "matching",
        "applications:write",
        "Accept an offer",
    ),
    ForwardRoute(
        "POST",
        "/v1/guarantee-products",
        "matching",
        "products:write",
        "Publish a guarantee product",
    ),
    ForwardRoute(
        "GET", "/v1/guarantee-products", "matching", "products:read", "List guarantee products"
    ),
    ForwardRoute(
        "GET",
        "/v1/guarantee-products/{guarantee_product_id}",
        "matching",
        "products:read",
        "Read a guarantee product",
    ),
    ForwardRoute(
        "POST",
        "/v1/risk-sharing-agreements",
        "matching",
        "products:write",
        "Propose a risk-sharing agreement",
    ),
    ForwardRoute(
        "GET",
        "/v1/risk-sharing-agreements",
        "matching",
        "products:read",
        "List the caller's risk-sharing agreements",
    ),
    ForwardRoute(
        "GET",
        "/v1/risk-sharing-agreements/{agreement_id}",
        "matching",
        "products:read",
        "Read a risk-sharing agreement",
    ),
    ForwardRoute(
        "POST",
        "/v1/risk-sharing-agreements/{agreement_id}/confirm",
        "matching",
        "products:write",
        "Confirm a risk-sharing agreement proposed by the other party",
    ),
    ForwardRoute(
        "POST",
        "/v1/related-party-groups",
        "matching",
        "firms:write",
        "Declare firms related (one controller)",
    ),
    ForwardRoute(
        "GET",
        "/v1/related-party-groups/{group_id}",
        "matching",
        "firms:read",
        "Read a related-party group",
    ),
    ForwardRoute(
        "POST",
        "/v1/firms/{firm_ref}/consents",
        "matching",
        "consents:write",
        "Record a firm's consent to share its data",
    ),
    ForwardRoute(
        "GET", "/v1/firms/{firm_ref}/consents", "matching", "firms:read", "List a firm's consents"
    ),
    ForwardRoute(
        "DELETE",
        "/v1/firms/{firm_ref}/consents/{consent_id}",
        "matching",
        "consents:write",
        "Revoke a consent",
    ),
    ForwardRoute(
        "GET", "/v1/referrals", "matching", "referrals:read", "List the caller's referrals"
    ),
    ForwardRoute(
        "GET", "/v1/referrals/{referral_id}", "matching", "referrals:read", "Read a referral"
    ),
    ForwardRoute(
        "GET",
        "/v1/referrals/{referral_id}/events",
        "matching",
        "referrals:read",
        "Every transition of a referral and its loan",
    ),
    ForwardRoute(
        "POST",
        "/v1/referrals/{referral_id}/decision",
        "matching",
        "referrals:write",
        "Approve or decline a referral",
    ),
    ForwardRoute(
        "GET",
        "/v1/referrals/{referral_id}/firm-data",
        "matching",
        "referrals:read",
        "A referred firm's metrics, score and reasons, under consent",
    ),
    ForwardRoute(
        "POST", "/v1/loans/{loan_id}/events", "matching", "loans:write", "Report a loan event"
    ),
    ForwardRoute(
        "GET",
        "/v1/referrals/{referral_id}/offer",
        "matching",
        "referrals:read",
        "The offer terms and risk-sharing split behind a referral",
    ),
    ForwardRoute(
        "GET",
        "/v1/portfolio",
        "matching",
        "referrals:read",
        "The caller's exposure per firm against every limit",
    ),
    # early warning (credit)
    ForwardRoute(
        "GET",
        "/v1/early-warnings",
        "credit",
        "referrals:read",
        "Early warnings on the firms the caller is exposed to",
    ),
    ForwardRoute(
        "GET",
        "/v1/early-warning-rules",
        "credit",
        "products:read",
        "The caller's early-warning thresholds",
    ),
    ForwardRoute(
        "PUT",
        "/v1/early-warning-rules",
        "credit",
        "products:write",
        "Set the caller's early-warning thresholds",
    ),
    # statistics (operators)
    ForwardRoute(
        "GET",
        "/v1/statistics",
        "matching",
        "statistics:read",
        "SME operating statistics by region, industry and size class (JSON or CSV)",
    ),
    # batch allocation (operators)
    ForwardRoute(
        "POST",
        "/v1/allocation-runs",
        "matching",
        "allocation:write",
        "Compute a batch allocation of pending applications",
    ),
    ForwardRoute(
        "GET",
        "/v1/allocation-runs/{run_id}",
        "matching",
        "allocation:read",
        "Read an allocation run and its report",
    ),
    ForwardRoute(
        "POST",
        "/v1/allocation-runs/{run_id}/apply",
        "matching",
        "allocation:write",
        "Apply an allocation run: reserve and refer in one transaction",
    ),
    ForwardRoute(
        "POST",
        "/v1/allocation-runs/{run_id}/discard",
        "matching",
        "allocation:write",
        "Discard an allocation run",
    ),
)
