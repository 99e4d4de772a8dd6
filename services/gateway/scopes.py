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
    "models:read": "read the model registry",
    "models:write": "promote model versions",
    "orgs:admin": "create organisations and keys for any organisation",
    "keys:manage": "list and revoke the caller's own keys",
    "allocation:read": "read batch allocation runs (operators)",
    "allocation:write": "compute, apply and discard batch allocation runs (operators)",
}

DEFAULT_SCOPES: dict[str, list[str]] = {
    "admin": sorted(SCOPES),
    "platform": [
        "firms:write",
        "firms:read",
        "transactions:write",
        "applications:write",
        "applications:read",
        "referrals:read",
        "consents:write",
        "keys:manage",
    ],
    "lender": [
        "products:write",
        "products:read",
        "applications:read",
        "referrals:read",
        "referrals:write",
        "loans:write",
        "keys:manage",
    ],
    "guarantor": [
        "products:write",
        "products:read",
        "applications:read",
        "referrals:read",
        "referrals:write",
        "keys:manage",
    ],
}
ORG_KINDS = ("platform", "lender", "guarantor")
