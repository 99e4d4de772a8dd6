"""What batch allocation reads from matching: pending applications with their options, and the
remaining capacity of every lender and guarantor, firm and related group.

Plain dataclasses, read in one session, so the allocation solver stays a pure package: it gets
a Pool, decides, and matching's ledger (ledger.reserve) then applies the decisions atomically.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session

from services.matching import capacity as cap
from services.matching import repository, repository_deals


@dataclass(frozen=True)
class PoolOption:
    """One offer of a pending application: who lends, who guarantees, how much, at what price."""

    offer_id: str
    loan_product_id: str
    lender_org_id: str
    guarantee_product_id: str | None
    guarantor_org_id: str | None
    amount_cny: Decimal
    guaranteed_cny: Decimal
    pd_12m: Decimal
    lender_loss_share: Decimal
    annual_rate: Decimal
    all_in_annual_cost: Decimal


@dataclass(frozen=True)
class PoolApplication:
    """A pending application (status offered) with its options, best first."""

    application_id: str
    platform_org_id: str
    firm_ref: str
    group_id: str | None
    amount_cny: Decimal
    options: list[PoolOption]

    @property
    def firm_key(self) -> str:
        """The firm's key in exposure maps: platform and firm_ref."""
        return f"{self.platform_org_id}:{self.firm_ref}"


@dataclass(frozen=True)
class Pool:
    """Pending applications and every remaining capacity, as of one read.

    Exposure maps are keyed (holder org id, firm key) and (holder org id, group id); what a
    holder may still take for a firm is, e.g.,
    cap.lender_room_for_firm(lenders[org], Exposure(firm, group, in_group)).
    """

    applications: list[PoolApplication]
    lenders: dict[str, cap.LenderLimits]
    guarantors: dict[str, cap.GuarantorLimits]
    lender_firm_cny: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    lender_group_cny: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    guarantor_firm_cny: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    guarantor_group_cny: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def lender_exposure(self, lender_org_id: str, app: PoolApplication) -> cap.Exposure:
        """A lender's current exposure to an application's firm and group."""
        return cap.Exposure(
            self.lender_firm_cny.get((lender_org_id, app.firm_key), Decimal(0)),
            self.lender_group_cny.get((lender_org_id, app.group_id or ""), Decimal(0)),
            app.group_id is not None,
        )

    def guarantor_exposure(self, guarantor_org_id: str, app: PoolApplication) -> cap.Exposure:
        """A guarantor's current exposure to an application's firm and group."""
        return cap.Exposure(
            self.guarantor_firm_cny.get((guarantor_org_id, app.firm_key), Decimal(0)),
            self.guarantor_group_cny.get((guarantor_org_id, app.group_id or ""), Decimal(0)),
            app.group_id is not None,
        )


def read_pool(session: Session, limit: int = 10_000) -> Pool:
    """Pending applications (oldest first), their options and all remaining capacities."""
    pending = repository_deals.pending_applications(session, limit)
    offers = repository_deals.offers_of_many(session, [a.id for a in pending])
    groups = repository_deals.all_group_members(session)
    applications = [
        PoolApplication(
            application_id=a.id,
            platform_org_id=a.platform_org_id,
            firm_ref=a.firm_ref,
            group_id=groups.get((a.platform_org_id, a.firm_ref)),
            amount_cny=a.amount_cny,
            options=[
                PoolOption(
                    offer_id=o.id,
                    loan_product_id=o.loan_product_id,
                    lender_org_id=o.lender_org_id,
                    guarantee_product_id=o.guarantee_product_id,
                    guarantor_org_id=o.guarantor_org_id,
                    amount_cny=o.amount_cny,
                    guaranteed_cny=o.guaranteed_cny,
                    pd_12m=o.pd_12m,
                    lender_loss_share=o.lender_loss_share,
                    annual_rate=o.annual_rate,
                    all_in_annual_cost=o.all_in_annual_cost,
                )
                for o in offers.get(a.id, [])
                if o.status == "offered"
            ],
        )
        for a in pending
    ]
    lender_firm: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    lender_group: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    guarantor_firm: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    guarantor_group: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in repository_deals.open_reservations(session):
        firm_key = f"{r.platform_org_id}:{r.firm_ref}"
        group_id = groups.get((r.platform_org_id, r.firm_ref))
        lender_firm[(r.lender_org_id, firm_key)] += r.lender_cny
        if group_id:
            lender_group[(r.lender_org_id, group_id)] += r.lender_cny
        if r.guarantor_org_id:
            guarantor_firm[(r.guarantor_org_id, firm_key)] += r.guarantee_cny
            if group_id:
                guarantor_group[(r.guarantor_org_id, group_id)] += r.guarantee_cny
    return Pool(
        applications=applications,
        lenders={k: cap.lender_limits(p) for k, p in repository.all_lenders(session).items()},
        guarantors={
            k: cap.guarantor_limits(p) for k, p in repository.all_guarantors(session).items()
        },
        lender_firm_cny=dict(lender_firm),
        lender_group_cny=dict(lender_group),
        guarantor_firm_cny=dict(guarantor_firm),
        guarantor_group_cny=dict(guarantor_group),
    )
