"""The offer loop: every loan product alone and with every guarantee product, screened, priced
and ranked by the all-in annual cost of the firm's cash flows.

Cheap by construction: each product's own rules are checked once (not once per pair), every
eligible combination is priced in one vectorised float pass, and only the offers returned are
priced exactly in Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from services.matching import capacity as cap
from services.matching import eligibility as el
from services.matching.catalogue import Catalogue
from services.matching.models import GuaranteeProduct, LoanProduct, RiskSharingAgreement
from services.matching.pricing import Quote, all_in_costs, annual_rate_for, quote

PD_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Capacities:
    """What every lender and guarantor can still take on for this firm."""

    lenders: dict[str, cap.LenderLimits]
    guarantors: dict[str, cap.GuarantorLimits]
    lender_exposure: dict[str, cap.Exposure]
    guarantor_exposure: dict[str, cap.Exposure]
    in_group: bool


@dataclass(frozen=True)
class Option:
    """One eligible combination: a loan product, maybe a guarantee product and its agreement."""

    loan: LoanProduct
    guarantee: GuaranteeProduct | None
    agreement: RiskSharingAgreement | None
    lender_share: Decimal


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


def _not_offered(
    loan: LoanProduct, guarantee: GuaranteeProduct | None, reasons: list[str]
) -> dict[str, Any]:
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
        reasons = el.guarantee_reasons(product, facts, now)
        limits = caps.guarantors.get(product.guarantor_org_id)
        if limits is None:
            reasons.append(cap.NO_GUARANTOR_PROFILE)
        else:
            exposure = caps.guarantor_exposure.get(product.guarantor_org_id, empty)
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
    options: list[Option] = []
    refused: list[dict[str, Any]] = []
    for loan in catalogue.loans:
        base = loan_reasons[loan.id]
        alone = base + el.standalone_reasons(loan, facts)
        if alone:
            refused.append(_not_offered(loan, None, alone))
        else:
            options.append(Option(loan, None, None, Decimal(1)))
        guaranteed = base + el.guaranteed_reasons(loan, facts)
        for product in catalogue.guarantees:
            reasons = guaranteed + guarantee_reasons[product.id]
            agreement = catalogue.agreements.get((loan.lender_org_id, product.guarantor_org_id))
            if agreement is None:
                reasons = [*reasons, el.NO_AGREEMENT]
            elif product.coverage_ratio < 1 - agreement.lender_share:
                reasons = [*reasons, el.COVERAGE_BELOW_AGREEMENT]
            if reasons:
                refused.append(_not_offered(loan, product, reasons))
            else:
                assert agreement is not None
                options.append(Option(loan, product, agreement, agreement.lender_share))
    return options, refused


def _float_costs(catalogue: Catalogue, options: list[Option], facts: el.FirmFacts) -> np.ndarray:
    n = len(options)
    rates, upfront, g_fees = np.empty(n), np.empty(n), np.zeros(n)
    for i, option in enumerate(options):
        base, premium, max_rate, upfront_rate = catalogue.loan_prices[option.loan.id]
        pd_priced = round(facts.pd_12m * float(option.lender_share), 6)
        rates[i] = min(base + premium * pd_priced, max_rate)
        upfront[i] = upfront_rate
        if option.guarantee is not None:
            g_fees[i] = float(option.guarantee.annual_fee_rate * option.guarantee.coverage_ratio)
    return all_in_costs(
        amount=float(facts.amount),
        term_months=facts.term_months,
        annual_rates=rates,
        upfront_fee_rates=upfront,
        guarantee_fee_rates=g_fees,
    )


def price_exactly(option: Option, facts: el.FirmFacts) -> PricedOption:
    """The exact Decimal price of one option: the figures an offer shows and stores."""
    pd = Decimal(str(facts.pd_12m)).quantize(PD_PLACES)
    rate = annual_rate_for(
        base_rate=option.loan.base_rate,
        premium_per_pd=option.loan.risk_premium_per_pd,
        max_rate=option.loan.max_rate,
        pd_priced=facts.pd_12m * float(option.lender_share),
    )
    coverage = option.guarantee.coverage_ratio if option.guarantee else Decimal(0)
    fee_rate = option.guarantee.annual_fee_rate if option.guarantee else Decimal(0)
    priced = quote(
        amount=facts.amount,
        term_months=facts.term_months,
        annual_rate=rate,
        upfront_fee_rate=option.loan.upfront_fee_rate,
        guarantee_fee_rate=fee_rate,
        guarantee_coverage=coverage,
    )
    guaranteed = (facts.amount * coverage).quantize(Decimal("0.01"))
    return PricedOption(option, pd, guaranteed, priced)


def _key(option: Option) -> tuple[str, str]:
    return option.loan.id, option.guarantee.id if option.guarantee else ""


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
    costs = _float_costs(catalogue, options, facts)
    order = sorted(range(len(options)), key=lambda i: (round(float(costs[i]), 9), _key(options[i])))
    # Float ranking picks the shortlist; a margin of extra options absorbs float-vs-Decimal ties.
    shortlist = order[: max_offers + 3]
    priced = sorted(
        (price_exactly(options[i], facts) for i in shortlist),
        key=lambda p: (p.quote.all_in_annual_cost, _key(p.option)),
    )
    chosen, spare = priced[:max_offers], priced[max_offers:]
    for p in spare:
        refused.append(_not_offered(p.option.loan, p.option.guarantee, [el.OUTRANKED]))
    for i in order[max_offers + 3 :]:
        refused.append(_not_offered(options[i].loan, options[i].guarantee, [el.OUTRANKED]))
    return Evaluation(chosen, refused)
