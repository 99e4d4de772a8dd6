"""The offer loop: every loan product alone and with every guarantee product, screened, priced
and ranked by the all-in annual cost of the firm's cash flows.

Cheap by construction: each product's own rules are checked once (not once per pair), the pair
loop reads plain fields only, every eligible combination is priced in one vectorised float pass,
and only the offers returned are priced exactly in Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from services.matching import capacity as cap
from services.matching import eligibility as el
from services.matching.catalogue import Catalogue, GuaranteeView, LoanView
from services.matching.pricing import Quote, all_in_costs, annual_rate_for, quote

PD_PLACES = Decimal("0.000001")
CENT = Decimal("0.01")
# Options priced exactly beyond max_offers, so float-vs-Decimal near-ties cannot reorder the cut.
EXACT_MARGIN = 3


@dataclass(frozen=True)
class Capacities:
    """What every lender and guarantor can still take on for this firm."""

    lenders: dict[str, cap.LenderLimits]
    guarantors: dict[str, cap.GuarantorLimits]
    lender_exposure: dict[str, cap.Exposure]
    guarantor_exposure: dict[str, cap.Exposure]
    in_group: bool


@dataclass(frozen=True, slots=True)
class Option:
    """One eligible combination: a loan product, maybe a guarantee product and its agreement."""

    loan: LoanView
    guarantee: GuaranteeView | None
    agreement_id: str | None
    lender_share: Decimal
    key: tuple[str, str]


@dataclass(frozen=True)
class PricedOption:
    """An option priced exactly: what the firm would pay."""

    option: Option
    pd_12m: Decimal
    guaranteed_cny: Decimal
    quote: Quote


@dataclass(frozen=True)
class Evaluation:
    """Ranked offers (best first) and every combination not offered with its reasons."""

    offers: list[PricedOption]
    not_offered: list[dict[str, Any]]


def _refused(loan: LoanView, guarantee: GuaranteeView | None, reasons: list[str]) -> dict[str, Any]:
    return {
        "loan_product_id": loan.id,
        "lender_org_id": loan.lender_org_id,
        "guarantee_product_id": guarantee.id if guarantee else None,
        "guarantor_org_id": guarantee.guarantor_org_id if guarantee else None,
        "reasons": reasons,
    }


def _loan_reasons(
    catalogue: Catalogue, facts: el.FirmFacts, now: datetime, caps: Capacities
) -> dict[str, list[str]]:
    out = {}
    empty = cap.Exposure(in_group=caps.in_group)
    for loan in catalogue.loans:
        reasons = el.loan_base_reasons(loan, facts, now)
        limits = caps.lenders.get(loan.lender_org_id)
        if limits is None:
            reasons.append(cap.NO_LENDER_PROFILE)
        else:
            exposure = caps.lender_exposure.get(loan.lender_org_id, empty)
            reasons += cap.lender_shortfalls(limits, exposure, facts.amount)
        out[loan.id] = reasons
    return out


def _guarantee_reasons(
    catalogue: Catalogue, facts: el.FirmFacts, now: datetime, caps: Capacities
) -> dict[str, list[str]]:
    out = {}
    empty = cap.Exposure(in_group=caps.in_group)
    for product in catalogue.guarantees:
        exposure = caps.guarantor_exposure.get(product.guarantor_org_id, empty)
        reasons = el.guarantee_reasons(product, facts, now, exposure.firm_cny)
        limits = caps.guarantors.get(product.guarantor_org_id)
        if limits is None:
            reasons.append(cap.NO_GUARANTOR_PROFILE)
        else:
            liability = facts.amount * product.coverage_ratio
            reasons += cap.guarantor_shortfalls(limits, exposure, liability)
        out[product.id] = reasons
    return out


def screen(
    catalogue: Catalogue, facts: el.FirmFacts, now: datetime, caps: Capacities
) -> tuple[list[Option], list[dict[str, Any]]]:
    """Every combination either eligible (an Option) or not offered with all its reasons."""
    loan_reasons = _loan_reasons(catalogue, facts, now, caps)
    guarantee_reasons = _guarantee_reasons(catalogue, facts, now, caps)
    # Per (lender, guarantor): the agreement's id and lender share, or why the pair cannot work.
    pair_terms: dict[tuple[str, str], tuple[str | None, Decimal, list[str]]] = {}
    options: list[Option] = []
    refused: list[dict[str, Any]] = []
    one = Decimal(1)
    for loan in catalogue.loan_views:
        base = loan_reasons[loan.id]
        alone = base + el.standalone_reasons(loan.product, facts)
        if alone:
            refused.append(_refused(loan, None, alone))
        else:
            options.append(Option(loan, None, None, one, (loan.id, "")))
        guaranteed = base + el.guaranteed_reasons(loan.product, facts)
        for product in catalogue.guarantee_views:
            pair = (loan.lender_org_id, product.guarantor_org_id)
            terms = pair_terms.get(pair)
            if terms is None:
                agreement = catalogue.agreements.get(pair)
                if agreement is None:
                    terms = (None, one, [el.NO_AGREEMENT])
                else:
                    terms = (agreement.id, agreement.lender_share, [])
                pair_terms[pair] = terms
            agreement_id, share, pair_reasons = terms
            reasons = guaranteed + guarantee_reasons[product.id] + pair_reasons
            if agreement_id is not None and product.coverage_ratio < one - share:
                reasons.append(el.COVERAGE_BELOW_AGREEMENT)
            if reasons:
                refused.append(_refused(loan, product, reasons))
            else:
                options.append(Option(loan, product, agreement_id, share, (loan.id, product.id)))
    return options, refused


def _float_costs(options: list[Option], facts: el.FirmFacts) -> np.ndarray:
    n = len(options)
    base, premium, max_rate = np.empty(n), np.empty(n), np.empty(n)
    upfront, share, g_fees = np.empty(n), np.empty(n), np.zeros(n)
    for i, option in enumerate(options):
        loan = option.loan
        base[i], premium[i], max_rate[i] = loan.base_rate, loan.premium_per_pd, loan.max_rate
        upfront[i] = loan.upfront_fee_rate
        share[i] = float(option.lender_share)
        if option.guarantee is not None:
            g_fees[i] = option.guarantee.fee_on_principal
    rates = np.minimum(base + premium * np.round(facts.pd_12m * share, 6), max_rate)
    return all_in_costs(
        amount=float(facts.amount),
        term_months=facts.term_months,
        annual_rates=rates,
        upfront_fee_rates=upfront,
        guarantee_fee_rates=g_fees,
    )


def price_exactly(option: Option, facts: el.FirmFacts) -> PricedOption:
    """The exact Decimal price of one option: the figures an offer shows and stores."""
    loan = option.loan.product
    pd = Decimal(str(facts.pd_12m)).quantize(PD_PLACES)
    rate = annual_rate_for(
        base_rate=loan.base_rate,
        premium_per_pd=loan.risk_premium_per_pd,
        max_rate=loan.max_rate,
        pd_priced=facts.pd_12m * float(option.lender_share),
    )
    guarantee = option.guarantee.product if option.guarantee else None
    coverage = guarantee.coverage_ratio if guarantee else Decimal(0)
    priced = quote(
        amount=facts.amount,
        term_months=facts.term_months,
        annual_rate=rate,
        upfront_fee_rate=loan.upfront_fee_rate,
        guarantee_fee_rate=guarantee.annual_fee_rate if guarantee else Decimal(0),
        guarantee_coverage=coverage,
    )
    return PricedOption(option, pd, (facts.amount * coverage).quantize(CENT), priced)


def evaluate(
    catalogue: Catalogue,
    facts: el.FirmFacts,
    now: datetime,
    caps: Capacities,
    max_offers: int,
) -> Evaluation:
    """Screen, price and rank: the best max_offers options become offers, the rest say why not."""
    options, refused = screen(catalogue, facts, now, caps)
    if not options:
        return Evaluation([], refused)
    costs = np.round(_float_costs(options, facts), 9).tolist()
    order = sorted(range(len(options)), key=lambda i: (costs[i], options[i].key))
    cut = max_offers + EXACT_MARGIN
    priced = sorted(
        (price_exactly(options[i], facts) for i in order[:cut]),
        key=lambda p: (p.quote.all_in_annual_cost, p.option.key),
    )
    chosen = priced[:max_offers]
    outranked = [p.option for p in priced[max_offers:]] + [options[i] for i in order[cut:]]
    refused += [_refused(o.loan, o.guarantee, [el.OUTRANKED]) for o in outranked]
    return Evaluation(chosen, refused)
