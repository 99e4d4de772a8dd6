"""The allocation instance: applications, their eligible options and every limit, as arrays.

Money is held in integer fen (minor units) so that limit checks are exact; values (financed
amount or expected surplus) are floats in CNY because they only rank solutions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# Regulatory shares of net assets (reference/regulation.md), used as defaults.
GUARANTOR_CLIENT_SHARE = 0.10
GUARANTOR_GROUP_SHARE = 0.15


class Objective(StrEnum):
    """What a run maximises."""

    FINANCED_AMOUNT = "financed_amount"
    EXPECTED_SURPLUS = "expected_surplus"


@dataclass(frozen=True)
class Lender:
    """A lender's headroom in this run (fen): budget left, and per-borrower caps if regulated.

    single_borrower_cap / related_group_cap are the absolute limits (10% / 15% of net assets
    for small loan companies); None means the lender has no such limit. What the lender already
    lends to a borrower or group is given in the outstanding maps and counts against the caps.
    """

    id: str
    budget: int
    single_borrower_cap: int | None = None
    related_group_cap: int | None = None
    outstanding_by_firm: Mapping[str, int] = field(default_factory=dict)
    outstanding_by_group: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Guarantor:
    """A guarantor's limits (fen): leverage multiple of net assets, per-client and group shares."""

    id: str
    net_assets: int
    leverage_multiple: float
    outstanding: int = 0
    client_share: float = GUARANTOR_CLIENT_SHARE
    group_share: float = GUARANTOR_GROUP_SHARE
    outstanding_by_firm: Mapping[str, int] = field(default_factory=dict)
    outstanding_by_group: Mapping[str, int] = field(default_factory=dict)

    def leverage_headroom(self) -> int:
        """Guaranteed exposure it may still add: multiple x net assets - outstanding."""
        return int(self.leverage_multiple * self.net_assets) - self.outstanding


@dataclass(frozen=True)
class Instance:
    """One allocation problem, columnar. Options are sorted by application (opt_app ascending).

    Applications: app_ids[i], app_firm[i] (index into firm_keys), app_group[i] (index into
    group_keys, -1 if none), app_amount[i] (fen), app_arrival[i] (order of arrival).
    Options: opt_app, opt_loan_product (index into loan_product_ids), opt_lender (index into
    lenders), opt_guarantee_product and opt_guarantor (-1 without guarantee), opt_exposure
    (guaranteed exposure in fen, amount x coverage), opt_surplus (expected surplus, CNY).
    ineligible maps an application id to the upstream reasons why products were not eligible.
    """

    app_ids: list[str]
    app_firm: IntArray
    app_group: IntArray
    app_amount: IntArray
    app_arrival: IntArray
    firm_keys: list[str]
    group_keys: list[str]
    opt_app: IntArray
    opt_loan_product: IntArray
    opt_lender: IntArray
    opt_guarantee_product: IntArray
    opt_guarantor: IntArray
    opt_exposure: IntArray
    opt_surplus: FloatArray
    loan_product_ids: list[str]
    guarantee_product_ids: list[str]
    lenders: list[Lender]
    guarantors: list[Guarantor]
    ineligible: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def n_apps(self) -> int:
        """Number of applications."""
        return len(self.app_ids)

    @property
    def n_options(self) -> int:
        """Number of eligible (application, product) options."""
        return int(self.opt_app.shape[0])

    def option_values(self, objective: Objective) -> FloatArray:
        """Each option's value under the objective, in CNY."""
        if objective is Objective.FINANCED_AMOUNT:
            return self.app_amount[self.opt_app].astype(np.float64) / 100.0
        return self.opt_surplus.astype(np.float64)

    def option_starts(self) -> IntArray:
        """Offsets: the options of application i are opt_starts[i]:opt_starts[i + 1]."""
        counts = np.bincount(self.opt_app, minlength=self.n_apps)
        return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
