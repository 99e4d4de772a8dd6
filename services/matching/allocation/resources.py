"""Every limit as a resource row: which rows each option draws on, how much, each row's headroom.

An option touches at most one row of each kind (slot), so the draw is a dense (options x 6)
array; an option that does not touch a kind points at a sentinel row of unlimited headroom.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from services.matching.allocation.model import Guarantor, Instance, IntArray, Lender


class Limit(StrEnum):
    """The kinds of limit, in slot order; the value is the reason code when it blocks an option."""

    LENDER_BUDGET = "lender_budget_exhausted"
    SINGLE_BORROWER = "single_borrower_limit"
    RELATED_GROUP = "related_group_limit"
    GUARANTOR_LEVERAGE = "guarantor_leverage_limit"
    GUARANTOR_CLIENT = "guarantor_client_limit"
    GUARANTOR_GROUP = "guarantor_group_limit"


LIMITS = list(Limit)
SLOTS = len(LIMITS)
UNLIMITED = np.int64(2**62)


@dataclass(frozen=True)
class Resources:
    """rid[o, k]: row of option o in slot k (n_rows: sentinel); use[o, k]: fen; cap: headroom."""

    rid: IntArray
    use: IntArray
    cap: IntArray
    kind: IntArray
    owner: IntArray
    key: IntArray

    @property
    def n_rows(self) -> int:
        """Number of real rows (the sentinel is the last entry of cap)."""
        return int(self.kind.shape[0])

    def holder(self, instance: Instance, row: int) -> str:
        """Who the row limits, readable: the lender or guarantor, and the firm or group if any."""
        kind = LIMITS[int(self.kind[row])]
        owner = int(self.owner[row])
        key = int(self.key[row])
        if kind in (Limit.LENDER_BUDGET, Limit.SINGLE_BORROWER, Limit.RELATED_GROUP):
            who = instance.lenders[owner].id
        else:
            who = instance.guarantors[owner].id
        if kind in (Limit.SINGLE_BORROWER, Limit.GUARANTOR_CLIENT):
            return f"{who}/{instance.firm_keys[key]}"
        if kind in (Limit.RELATED_GROUP, Limit.GUARANTOR_GROUP):
            return f"{who}/{instance.group_keys[key]}"
        return who


def _outstanding(
    instance: Instance, owners: IntArray, keys: IntArray, by_group: bool, guarantor: bool
) -> IntArray:
    """What each (owner, firm-or-group) row already has outstanding, from the sparse maps."""
    names = instance.group_keys if by_group else instance.firm_keys
    index = {name: i for i, name in enumerate(names)}
    width = max(len(names), 1)
    found_keys: list[int] = []
    found_amounts: list[int] = []
    parties: list[Lender | Guarantor] = [*(instance.guarantors if guarantor else instance.lenders)]
    for owner, party in enumerate(parties):
        mapping = party.outstanding_by_group if by_group else party.outstanding_by_firm
        for name, amount in mapping.items():
            if name in index:
                found_keys.append(owner * width + index[name])
                found_amounts.append(int(amount))
    out = np.zeros(owners.shape[0], dtype=np.int64)
    if not found_keys:
        return out
    order = np.argsort(np.asarray(found_keys, dtype=np.int64))
    sorted_keys = np.asarray(found_keys, dtype=np.int64)[order]
    sorted_amounts = np.asarray(found_amounts, dtype=np.int64)[order]
    wanted = owners * width + keys
    pos = np.clip(np.searchsorted(sorted_keys, wanted), 0, sorted_keys.shape[0] - 1)
    hit = sorted_keys[pos] == wanted
    out[hit] = sorted_amounts[pos[hit]]
    return out


def build_resources(instance: Instance) -> Resources:
    """Compile the instance's limits into rows with headroom (never below zero)."""
    m = instance.n_options
    firm = instance.app_firm[instance.opt_app]
    group = instance.app_group[instance.opt_app]
    lender = instance.opt_lender
    guarantor = instance.opt_guarantor
    amount = instance.app_amount[instance.opt_app]
    has_g = guarantor >= 0
    sbc = np.array(
        [-1 if x.single_borrower_cap is None else x.single_borrower_cap for x in instance.lenders]
        + [-1],
        dtype=np.int64,
    )
    rgc = np.array(
        [-1 if x.related_group_cap is None else x.related_group_cap for x in instance.lenders]
        + [-1],
        dtype=np.int64,
    )
    budget = np.array([x.budget for x in instance.lenders] + [0], dtype=np.int64)
    g_na = np.array([x.net_assets for x in instance.guarantors] + [0], dtype=np.float64)
    g_head = np.array([x.leverage_headroom() for x in instance.guarantors] + [0], dtype=np.int64)
    g_client = np.array([x.client_share for x in instance.guarantors] + [0], dtype=np.float64)
    g_group = np.array([x.group_share for x in instance.guarantors] + [0], dtype=np.float64)

    # (touches, owner, key, use) for each slot, in Limit order.
    g_owner = np.where(has_g, guarantor, len(instance.guarantors))
    slots = [
        (np.ones(m, dtype=bool), lender, np.zeros(m, dtype=np.int64), amount),
        (sbc[lender] >= 0, lender, firm, amount),
        ((rgc[lender] >= 0) & (group >= 0), lender, group, amount),
        (has_g, g_owner, np.zeros(m, dtype=np.int64), instance.opt_exposure),
        (has_g, g_owner, firm, instance.opt_exposure),
        (has_g & (group >= 0), g_owner, group, instance.opt_exposure),
    ]
    rid = np.empty((m, SLOTS), dtype=np.int64)
    use = np.zeros((m, SLOTS), dtype=np.int64)
    caps: list[IntArray] = []
    kinds: list[IntArray] = []
    owners: list[IntArray] = []
    keys: list[IntArray] = []
    offset = 0
    width = max(len(instance.firm_keys), len(instance.group_keys), 1)
    for slot, (touches, owner, key, draw) in enumerate(slots):
        combined = np.where(touches, owner.astype(np.int64) * width + key, -1)
        uniq, inverse = np.unique(combined[touches], return_inverse=True)
        u_owner, u_key = uniq // width, uniq % width
        kind = LIMITS[slot]
        if kind is Limit.LENDER_BUDGET:
            cap = budget[u_owner]
        elif kind is Limit.SINGLE_BORROWER:
            cap = sbc[u_owner] - _outstanding(instance, u_owner, u_key, False, False)
        elif kind is Limit.RELATED_GROUP:
            cap = rgc[u_owner] - _outstanding(instance, u_owner, u_key, True, False)
        elif kind is Limit.GUARANTOR_LEVERAGE:
            cap = g_head[u_owner]
        elif kind is Limit.GUARANTOR_CLIENT:
            cap = np.floor(g_client[u_owner] * g_na[u_owner]).astype(np.int64)
            cap = cap - _outstanding(instance, u_owner, u_key, False, True)
        else:
            cap = np.floor(g_group[u_owner] * g_na[u_owner]).astype(np.int64)
            cap = cap - _outstanding(instance, u_owner, u_key, True, True)
        rid[:, slot] = -1
        rid[touches, slot] = inverse.reshape(-1) + offset
        use[touches, slot] = draw[touches]
        caps.append(np.maximum(cap.astype(np.int64), 0))
        kinds.append(np.full(uniq.shape[0], slot, dtype=np.int64))
        owners.append(u_owner.astype(np.int64))
        keys.append(u_key.astype(np.int64))
        offset += uniq.shape[0]
    rid[rid < 0] = offset  # the sentinel row
    cap_all = np.concatenate([*caps, [UNLIMITED]]).astype(np.int64)
    return Resources(
        rid=rid,
        use=use,
        cap=cap_all,
        kind=np.concatenate(kinds).astype(np.int64),
        owner=np.concatenate(owners).astype(np.int64),
        key=np.concatenate(keys).astype(np.int64),
    )
