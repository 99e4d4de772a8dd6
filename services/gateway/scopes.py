"""Scopes: what each route needs and what each kind of organisation gets by default."""

from __future__ import annotations

# scope -> what it allows. docs/api.md renders this table.
SCOPES: dict[str, str] = {
    "firms:write": "register and update the caller's firms",
    "firms:read": "read the caller's firms, metrics and scores",
    "transactions:write": "upload the caller's firms' transactions",
    "applications:write": "apply for financing and accept offers for the caller's firms",
    "applications:read": "read the caller's applications and offers",
    "products:write": "publish the caller's loan or guarantee products and profile",
    "products:read": "read the caller's products and profile",
    "referrals:read": "read the referrals the caller is party to and their events",
    "referrals:write": "decide referrals as their lender or guarantor",
    "loans:write": "report events of the caller's loans",
    "consents:write": "record and revoke the caller's firms' consents",
    "scores:batch": "start and read batch scoring jobs of all the caller's firms",
    "models:read": "read the model registry",
    "models:write": "promote model versions",
    "statistics:read": "read SME operating statistics (sales, financing; small cells hidden)",
    "orgs:admin": "create organisations and keys for any organisation",
    "keys:manage": "list and revoke the caller's own keys",
    "events:read": "list the caller's organisation's events",
    "webhooks:manage": "register, rotate, replay and remove the caller's webhook endpoints",
    "audit:read": "query the audit log of every organisation",
    "allocation:read": "read batch allocation runs (operators)",
    "allocation:write": "compute, apply and discard batch allocation runs (operators)",
}

DEFAULT_SCOPES: dict[str, list[str]] = {
    "admin": sorted(SCOPES),
    "platform": [
        "firms:write",
        "firms:read",
        "scores:batch",
        "transactions:write",
        "applications:write",
        "applications:read",
        "referrals:read",
        "consents:write",
        "keys:manage",
        "events:read",
        "webhooks:manage",
    ],
    "lender": [
        "products:write",
        "products:read",
        "applications:read",
        "referrals:read",
        "referrals:write",
        "loans:write",
        "keys:manage",
        "events:read",
        "webhooks:manage",
    ],
    "guarantor": [
        "products:write",
        "products:read",
        "applications:read",
        "referrals:read",
        "referrals:write",
        "keys:manage",
        "events:read",
        "webhooks:manage",
    ],
}
ORG_KINDS = ("platform", "lender", "guarantor")


def scope_table_markdown() -> str:
    """The scope table of docs/api.md (a test keeps the page equal to this)."""
    kinds = ("admin", "platform", "lender", "guarantor")
    lines = [
        "| scope | allows | " + " | ".join(kinds) + " |",
        "|---|---|" + "---|" * len(kinds),
    ]
    for scope, text in SCOPES.items():
        marks = " | ".join("x" if scope in DEFAULT_SCOPES[k] else "" for k in kinds)
        lines.append(f"| `{scope}` | {text} | {marks} |")
    return "\n".join(lines)
