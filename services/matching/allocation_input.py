"""Map matching's pool (pending applications, offers, capacity ledger) onto an allocation Instance.

Money goes in as fen (build_instance converts CNY), limits as today's headroom. Each option is
one open offer, so a chosen option names exactly the offer to accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
from sqlmodel import Session

from services.matching.allocation import (
    ApplicationRow,
    Guarantor,
    Instance,
    Lender,
    OptionRow,
    build_instance,
    expected_surplus,
    fen,
)
from services.matching.models import GuaranteeProduct, Offer
from services.matching.pool import Pool, PoolApplication

# Expected-surplus assumptions: loss given default of unsecured SME credit (the Basel
# foundation-IRB figure for senior unsecured claims) and the lender's cost of funds.
LGD = 0.45
FUNDING_RATE = 0.03


@dataclass(frozen=True)
class MappedInstance:
    """An Instance and the offer each (application, loan, guarantee product) option stands for."""

    instance: Instance
    offer_of: dict[tuple[str, str, str | None], str]


def parties(pool: Pool) -> tuple[list[Lender], list[Guarantor]]:
    """Every lender and guarantor with today's headroom and outstanding exposure, in fen."""
    lenders = []
    for org, lim in sorted(pool.lenders.items()):
        lenders.append(
            Lender(
                id=org,
                budget=max(fen(lim.remaining_cny), 0),
                single_borrower_cap=(
                    fen(lim.single_borrower_cny) if lim.single_borrower_cny is not None else None
                ),
                related_group_cap=(
                    fen(lim.related_group_cny) if lim.related_group_cny is not None else None
                ),
                outstanding_by_firm={
                    f: fen(v) for (o, f), v in pool.lender_firm_cny.items() if o == org
                },
                outstanding_by_group={
                    g: fen(v) for (o, g), v in pool.lender_group_cny.items() if o == org
                },
            )
        )
    guarantors = []
    for org, glim in sorted(pool.guarantors.items()):
        # The model takes net assets, a multiple and shares; the ledger checks absolute caps.
        # Net assets := the leverage cap with multiple 1 keeps that cap exact, and each share is
        # (cap + half a fen) / base so that floor(share x base) gives the cap back exactly.
        base = max(fen(glim.leverage_cap_cny), 0)
        guarantors.append(
            Guarantor(
                id=org,
                net_assets=base,
                leverage_multiple=1.0,
                outstanding=fen(glim.used_cny),
                client_share=_share(fen(glim.single_client_cny), base),
                group_share=_share(fen(glim.related_group_cny), base),
                outstanding_by_firm={
                    f: fen(v) for (o, f), v in pool.guarantor_firm_cny.items() if o == org
                },
                outstanding_by_group={
                    g: fen(v) for (o, g), v in pool.guarantor_group_cny.items() if o == org
                },
            )
        )
    return lenders, guarantors


def _share(cap_fen: int, base_fen: int) -> float:
    """A share of base whose floor(share x base) is exactly cap (0 without a base)."""
    return (max(cap_fen, 0) + 0.5) / base_fen if base_fen > 0 else 0.0


def _surplus(offers: Sequence[Offer], fee_rates: dict[str, Decimal]) -> list[Decimal]:
    """Expected surplus of each offer for all parties (CNY), in one vectorised pass."""
    if not offers:
        return []
    amount = np.array([float(o.amount_cny) for o in offers])
    coverage = np.array(
        [float(o.guaranteed_cny / o.amount_cny) if o.amount_cny else 0.0 for o in offers]
    )
    total = expected_surplus(
        amount=amount,
        term_months=np.array([o.term_months for o in offers], dtype=np.float64),
        annual_rate=np.array([float(o.annual_rate) for o in offers]),
        upfront_fee_rate=np.array([float(o.upfront_fee_cny) for o in offers]) / amount,
        funding_rate=FUNDING_RATE,
        pd_12m=np.array([float(o.pd_12m) for o in offers]),
        lgd=LGD,
        coverage=coverage,
        guarantee_fee_rate=np.array(
            [
                float(fee_rates.get(o.guarantee_product_id, 0)) if o.guarantee_product_id else 0.0
                for o in offers
            ]
        ),
    ).total
    return [Decimal(repr(float(x))).quantize(Decimal("0.01")) for x in total]


def map_pool(
    session: Session,
    pool: Pool,
    applications: Sequence[PoolApplication],
    offers: dict[str, list[Offer]],
    ineligible: dict[str, tuple[str, ...]],
    now: datetime,
) -> MappedInstance:
    """The instance of these applications: their open, unexpired offers against today's limits."""
    lenders, guarantors = parties(pool)
    lender_ids = {x.id for x in lenders}
    guarantor_ids = {x.id for x in guarantors}
    usable: list[Offer] = []
    for app in applications:
        open_ids = {o.offer_id for o in app.options}
        for o in offers.get(app.application_id, []):
            if (
                o.id in open_ids
                and o.expires_at > now
                and o.lender_org_id in lender_ids
                and (o.guarantor_org_id is None or o.guarantor_org_id in guarantor_ids)
            ):
                usable.append(o)
    fee_rates = {
        gp_id: gp.annual_fee_rate
        for gp_id in {o.guarantee_product_id for o in usable if o.guarantee_product_id}
        if (gp := session.get(GuaranteeProduct, gp_id)) is not None
    }
    rows = [
        OptionRow(
            application_id=o.application_id,
            loan_product_id=o.loan_product_id,
            lender_id=o.lender_org_id,
            expected_surplus_cny=surplus,
            guarantee_product_id=o.guarantee_product_id,
            guarantor_id=o.guarantor_org_id,
            coverage=(o.guaranteed_cny / o.amount_cny) if o.guarantor_org_id else Decimal(0),
        )
        for o, surplus in zip(usable, _surplus(usable, fee_rates), strict=True)
    ]
    apps = [
        ApplicationRow(
            id=a.application_id,
            firm_key=a.firm_key,
            amount_cny=a.amount_cny,
            arrival=position,
            group_key=a.group_id,
            ineligible=ineligible.get(a.application_id, ()),
        )
        for position, a in enumerate(applications)
    ]
    return MappedInstance(
        instance=build_instance(apps, rows, lenders, guarantors),
        offer_of={
            (o.application_id, o.loan_product_id, o.guarantee_product_id): o.id for o in usable
        },
    )
