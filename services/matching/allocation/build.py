"""Build an Instance from plain rows (what the matching service reads from its tables)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from services.matching.allocation.model import Guarantor, Instance, Lender


def fen(amount_cny: Decimal) -> int:
    """CNY as integer fen, rounded half up."""
    return int((amount_cny * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ApplicationRow:
    """A pending application: who asks, how much, when it arrived, why products were ineligible."""

    id: str
    firm_key: str
    amount_cny: Decimal
    arrival: int
    group_key: str | None = None
    ineligible: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptionRow:
    """An eligible way to finance an application: a loan product, optionally with a guarantee.

    Options of one application are listed best offer first (the firm's ranking); the baseline
    breaks ties in value by that order.
    """

    application_id: str
    loan_product_id: str
    lender_id: str
    expected_surplus_cny: Decimal
    guarantee_product_id: str | None = None
    guarantor_id: str | None = None
    coverage: Decimal = Decimal(0)


def build_instance(
    applications: Sequence[ApplicationRow],
    options: Sequence[OptionRow],
    lenders: Sequence[Lender],
    guarantors: Sequence[Guarantor],
) -> Instance:
    """Index everything, convert money to fen, and sort options by application (order kept)."""
    app_index = {a.id: i for i, a in enumerate(applications)}
    if len(app_index) != len(applications):
        raise ValueError("application ids must be unique")
    lender_index = {x.id: i for i, x in enumerate(lenders)}
    guarantor_index = {x.id: i for i, x in enumerate(guarantors)}
    firm_keys = sorted({a.firm_key for a in applications})
    group_keys = sorted({a.group_key for a in applications if a.group_key is not None})
    firm_of, group_of = (
        {k: i for i, k in enumerate(firm_keys)},
        {k: i for i, k in enumerate(group_keys)},
    )
    loan_ids = sorted({o.loan_product_id for o in options})
    guarantee_ids = sorted({o.guarantee_product_id for o in options if o.guarantee_product_id})
    loan_of, guarantee_of = (
        {k: i for i, k in enumerate(loan_ids)},
        {k: i for i, k in enumerate(guarantee_ids)},
    )
    amounts = [fen(a.amount_cny) for a in applications]
    rows = []
    for position, o in enumerate(options):
        if o.application_id not in app_index:
            raise ValueError(f"option for unknown application {o.application_id!r}")
        if o.lender_id not in lender_index:
            raise ValueError(f"option names unknown lender {o.lender_id!r}")
        if (o.guarantee_product_id is None) != (o.guarantor_id is None):
            raise ValueError("a guarantee product and its guarantor go together")
        if o.guarantor_id is not None and o.guarantor_id not in guarantor_index:
            raise ValueError(f"option names unknown guarantor {o.guarantor_id!r}")
        if not Decimal(0) <= o.coverage <= Decimal(1):
            raise ValueError("coverage is a fraction between 0 and 1")
        app = app_index[o.application_id]
        exposure = (
            int((amounts[app] * o.coverage).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            if o.guarantor_id is not None
            else 0
        )
        rows.append(
            (
                app,
                position,
                loan_of[o.loan_product_id],
                lender_index[o.lender_id],
                guarantee_of[o.guarantee_product_id] if o.guarantee_product_id else -1,
                guarantor_index[o.guarantor_id] if o.guarantor_id else -1,
                exposure,
                float(o.expected_surplus_cny),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))

    def column(i: int, dtype: type) -> np.ndarray:
        return np.array([r[i] for r in rows], dtype=dtype)

    return Instance(
        app_ids=[a.id for a in applications],
        app_firm=np.array([firm_of[a.firm_key] for a in applications], dtype=np.int64),
        app_group=np.array(
            [group_of[a.group_key] if a.group_key is not None else -1 for a in applications],
            dtype=np.int64,
        ),
        app_amount=np.array(amounts, dtype=np.int64),
        app_arrival=np.array([a.arrival for a in applications], dtype=np.int64),
        firm_keys=firm_keys,
        group_keys=group_keys,
        opt_app=column(0, np.int64),
        opt_loan_product=column(2, np.int64),
        opt_lender=column(3, np.int64),
        opt_guarantee_product=column(4, np.int64),
        opt_guarantor=column(5, np.int64),
        opt_exposure=column(6, np.int64),
        opt_surplus=column(7, np.float64),
        loan_product_ids=loan_ids,
        guarantee_product_ids=guarantee_ids,
        lenders=list(lenders),
        guarantors=list(guarantors),
        ineligible={a.id: a.ineligible for a in applications if a.ineligible},
    )
