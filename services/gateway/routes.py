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


FORWARD_ROUTES: tuple[ForwardRoute, ...] = (
    # credit
    ForwardRoute(
        "PUT", "/v1/firms/{firm_ref}", "credit", "firms:write", "Create or replace a firm"
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
)
