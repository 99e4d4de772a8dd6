"""Check a choice against every limit, written apart from the solver so each checks the other."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from services.matching.allocation.model import Instance, IntArray


def _over(
    new: Mapping[tuple[int, int], int],
    cap_of: Mapping[int, int | None],
    outstanding_of: Mapping[int, Mapping[str, int]],
    names: list[str],
    what: str,
    party_ids: list[str],
) -> list[str]:
    problems = []
    for (party, key), amount in sorted(new.items()):
        cap = cap_of[party]
        if cap is None or amount <= 0:
            continue
        total = amount + int(outstanding_of[party].get(names[key], 0))
        if total > cap:
            problems.append(f"{what} {party_ids[party]}/{names[key]}: {total} > {cap} fen")
    return problems


def verify(instance: Instance, chosen: IntArray) -> list[str]:
    """Every broken rule of a choice (option index per application, -1 for none); empty if sound."""
    problems: list[str] = []
    if chosen.shape[0] != instance.n_apps:
        return [f"choice has {chosen.shape[0]} entries for {instance.n_apps} applications"]
    lender_sum: dict[int, int] = defaultdict(int)
    lender_firm: dict[tuple[int, int], int] = defaultdict(int)
    lender_group: dict[tuple[int, int], int] = defaultdict(int)
    g_sum: dict[int, int] = defaultdict(int)
    g_firm: dict[tuple[int, int], int] = defaultdict(int)
    g_group: dict[tuple[int, int], int] = defaultdict(int)
    for app, option in enumerate(chosen.tolist()):
        if option < 0:
            continue
        if option >= instance.n_options or int(instance.opt_app[option]) != app:
            problems.append(f"{instance.app_ids[app]}: option {option} is not one of its options")
            continue
        amount = int(instance.app_amount[app])
        firm, group = int(instance.app_firm[app]), int(instance.app_group[app])
        lender = int(instance.opt_lender[option])
        lender_sum[lender] += amount
        lender_firm[(lender, firm)] += amount
        if group >= 0:
            lender_group[(lender, group)] += amount
        guarantor = int(instance.opt_guarantor[option])
        if guarantor >= 0:
            exposure = int(instance.opt_exposure[option])
            g_sum[guarantor] += exposure
            g_firm[(guarantor, firm)] += exposure
            if group >= 0:
                g_group[(guarantor, group)] += exposure
    lenders, guarantors = instance.lenders, instance.guarantors
    lender_ids = [x.id for x in lenders]
    guarantor_ids = [x.id for x in guarantors]
    for lender, amount in sorted(lender_sum.items()):
        if amount > lenders[lender].budget:
            problems.append(
                f"lender budget {lender_ids[lender]}: {amount} > {lenders[lender].budget} fen"
            )
    for guarantor, exposure in sorted(g_sum.items()):
        g = guarantors[guarantor]
        limit = int(g.leverage_multiple * g.net_assets)
        if exposure > 0 and exposure + g.outstanding > limit:
            problems.append(f"guarantor leverage {g.id}: {exposure + g.outstanding} > {limit} fen")
    problems += _over(
        lender_firm,
        {i: x.single_borrower_cap for i, x in enumerate(lenders)},
        {i: x.outstanding_by_firm for i, x in enumerate(lenders)},
        instance.firm_keys,
        "single borrower",
        lender_ids,
    )
    problems += _over(
        lender_group,
        {i: x.related_group_cap for i, x in enumerate(lenders)},
        {i: x.outstanding_by_group for i, x in enumerate(lenders)},
        instance.group_keys,
        "related group",
        lender_ids,
    )
    problems += _over(
        g_firm,
        {i: int(np.floor(x.client_share * x.net_assets)) for i, x in enumerate(guarantors)},
        {i: x.outstanding_by_firm for i, x in enumerate(guarantors)},
        instance.firm_keys,
        "guarantor single client",
        guarantor_ids,
    )
    problems += _over(
        g_group,
        {i: int(np.floor(x.group_share * x.net_assets)) for i, x in enumerate(guarantors)},
        {i: x.outstanding_by_group for i, x in enumerate(guarantors)},
        instance.group_keys,
        "guarantor related group",
        guarantor_ids,
    )
    return problems
