"""Seeded generator of realistic allocation instances whose limits bind.

Scale references (reference/regulation.md, ecommerce_stats.md): loans around CNY 70 k with a
long right tail, 12-month PDs of a few percent, guarantee coverage 50-80%, guarantors at 10x or
15x leverage, small loan companies capped at 10% / 15% of net assets per borrower / group.
Budgets and guarantee headroom are set below the demand each party sees, so they bind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.matching.allocation.model import Guarantor, Instance, IntArray, Lender
from services.matching.allocation.value import expected_surplus

TERMS = np.array([6, 12, 24, 36])
BANK_REACH = 0.3
SLC_REACH = 0.15


@dataclass(frozen=True)
class GeneratorConfig:
    """Shape of a generated instance; a supply ratio is a lender's budget over the demand it sees.

    Banks are the cheapest offer for most firms but short of budget; small loan companies have
    budget to spare for the firms they can reach. Serving firms in arrival order drains the banks
    with firms the small lenders could have served, which is where the baseline loses.
    """

    n_apps: int = 10_000
    n_loan_products: int = 200
    n_guarantee_products: int = 50
    bank_supply_ratio: float = 0.7
    slc_supply_ratio: float = 1.5
    guarantee_ratio: float = 0.25
    chunk: int = 10_000


def _apps(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    n_firms = max(1, int(n * 0.9))
    n_grouped = int(n_firms * 0.25)
    n_groups = max(1, n_grouped // 3)
    firm_group = np.full(n_firms, -1, dtype=np.int64)
    grouped = rng.choice(n_firms, size=n_grouped, replace=False)
    firm_group[grouped] = rng.integers(0, n_groups, size=n_grouped)
    # Every firm applies once; the remaining applications are second requests of random firms.
    app_firm = np.concatenate(
        [rng.permutation(n_firms), rng.integers(0, n_firms, size=n - n_firms)]
    ).astype(np.int64)
    amount_cny = np.clip(np.round(rng.lognormal(np.log(60_000), 0.9, size=n), -3), 5_000, 3_000_000)
    return {
        "firm": app_firm,
        "group": firm_group[app_firm],
        "amount": (amount_cny * 100).astype(np.int64),
        "arrival": rng.permutation(n).astype(np.int64),
        "pd": np.clip(rng.lognormal(np.log(0.025), 0.7, size=n), 0.002, 0.3),
        "lgd": rng.uniform(0.45, 0.65, size=n),
        "term": TERMS[rng.integers(0, len(TERMS), size=n)],
        "industry": rng.integers(0, 12, size=n),
        "region": rng.integers(0, 10, size=n),
        "n_firms": np.array(n_firms),
        "n_groups": np.array(n_groups),
    }


def _products(rng: np.random.Generator, cfg: GeneratorConfig) -> dict[str, np.ndarray]:
    """Banks reach many segments cheaply; small loan companies serve niches at higher rates."""
    n_lp, n_gp = cfg.n_loan_products, cfg.n_guarantee_products
    n_lenders = max(2, n_lp // 5)
    n_guarantors = max(1, n_gp // 4)
    slc = rng.random(n_lenders) < 0.5
    lender = rng.integers(0, n_lenders, size=n_lp)
    bank = ~slc[lender]
    reach = np.where(bank, BANK_REACH, SLC_REACH)[:, None]
    requires = rng.random(n_lp) < 0.2
    return {
        "lender": lender,
        "lp_min": rng.uniform(5_000, 50_000, size=n_lp) * 100,
        "lp_max": np.where(
            bank,
            rng.uniform(500_000, 3_000_000, size=n_lp),
            rng.uniform(200_000, 1_000_000, size=n_lp),
        )
        * 100,
        "lp_max_pd": np.where(
            bank, rng.uniform(0.02, 0.06, size=n_lp), rng.uniform(0.05, 0.15, size=n_lp)
        ),
        "lp_requires": requires,
        "lp_allows_g": requires | (rng.random(n_lp) < 0.5),
        "lp_base": np.where(
            bank, rng.uniform(0.035, 0.06, size=n_lp), rng.uniform(0.08, 0.14, size=n_lp)
        ),
        "lp_premium": rng.uniform(0.8, 1.6, size=n_lp),
        "lp_fee": rng.uniform(0.0, 0.02, size=n_lp),
        "lp_ind": rng.random((n_lp, 12)) < reach,
        "lp_reg": rng.random((n_lp, 10)) < reach,
        "guarantor": rng.integers(0, n_guarantors, size=n_gp),
        "gp_cov": rng.uniform(0.5, 0.8, size=n_gp),
        "gp_fee": rng.uniform(0.005, 0.015, size=n_gp),
        "gp_max_pd": rng.uniform(0.08, 0.2, size=n_gp),
        "gp_ind": rng.random((n_gp, 12)) < 0.5,
        "funding": np.where(
            slc, rng.uniform(0.04, 0.06, size=n_lenders), rng.uniform(0.02, 0.03, size=n_lenders)
        ),
        "slc": slc,
        "multiple": np.where(rng.random(n_guarantors) < 0.5, 10.0, 15.0),
        "n_lenders": np.array(n_lenders),
        "n_guarantors": np.array(n_guarantors),
    }


def _options(
    rng: np.random.Generator, a: dict[str, np.ndarray], p: dict[str, np.ndarray], lo: int, hi: int
) -> dict[str, np.ndarray]:
    """Eligible options of applications lo:hi: a loan product alone or with up to 2 guarantees."""
    amount, pd_ = a["amount"][lo:hi, None], a["pd"][lo:hi, None]
    serves = p["lp_ind"].T[a["industry"][lo:hi]] & p["lp_reg"].T[a["region"][lo:hi]]
    fits = serves & (amount >= p["lp_min"][None, :]) & (amount <= p["lp_max"][None, :])
    alone = fits & ~p["lp_requires"][None, :] & (pd_ <= p["lp_max_pd"][None, :])
    guaranteed = fits & p["lp_allows_g"][None, :] & (pd_ <= 2 * p["lp_max_pd"][None, :])
    g_ok = p["gp_ind"].T[a["industry"][lo:hi]] & (pd_ <= p["gp_max_pd"][None, :])
    # Each firm can get at most two of the guarantees it is eligible for (its local agencies).
    score = np.where(g_ok, rng.random(g_ok.shape), -1.0)
    top = np.argsort(-score, axis=1)[:, :2]
    top_ok = np.take_along_axis(score, top, axis=1) >= 0
    ai, li = np.nonzero(alone)
    parts_app, parts_lp, parts_gp = [ai], [li], [np.full(ai.shape[0], -1)]
    for k in range(2):
        gi_app, gi_lp = np.nonzero(guaranteed & top_ok[:, k : k + 1])
        parts_app.append(gi_app)
        parts_lp.append(gi_lp)
        parts_gp.append(top[gi_app, k])
    app = np.concatenate(parts_app) + lo
    return {"app": app, "lp": np.concatenate(parts_lp), "gp": np.concatenate(parts_gp)}


def _scaled_caps(demand: np.ndarray, ratio: float, rng: np.random.Generator) -> IntArray:
    return (demand * ratio * rng.uniform(0.6, 1.4, size=demand.shape[0])).astype(np.int64)


def generate(seed: int, config: GeneratorConfig | None = None) -> Instance:
    """A reproducible instance with binding budgets, leverage and per-borrower limits."""
    cfg = config or GeneratorConfig()
    rng = np.random.default_rng(seed)
    a = _apps(rng, cfg.n_apps)
    p = _products(rng, cfg)
    chunks = [
        _options(rng, a, p, lo, min(lo + cfg.chunk, cfg.n_apps))
        for lo in range(0, cfg.n_apps, cfg.chunk)
    ]
    app = np.concatenate([c["app"] for c in chunks]).astype(np.int64)
    lp = np.concatenate([c["lp"] for c in chunks]).astype(np.int64)
    gp = np.concatenate([c["gp"] for c in chunks]).astype(np.int64)
    has_g = gp >= 0
    coverage = np.where(has_g, p["gp_cov"][np.maximum(gp, 0)], 0.0)
    g_fee = np.where(has_g, p["gp_fee"][np.maximum(gp, 0)], 0.0)
    rate = np.minimum(p["lp_base"][lp] + p["lp_premium"][lp] * a["pd"][app] * (1 - coverage), 0.24)
    # The firm's ranking of its offers: cheapest all-in first (fees spread over the term).
    all_in = rate + p["lp_fee"][lp] * 12 / a["term"][app] + g_fee * coverage
    order = np.lexsort((all_in, app))
    app, lp, gp = app[order], lp[order], gp[order]
    has_g, coverage, g_fee, rate = has_g[order], coverage[order], g_fee[order], rate[order]
    lender = p["lender"][lp].astype(np.int64)
    guarantor = np.where(has_g, p["guarantor"][np.maximum(gp, 0)], -1).astype(np.int64)
    amount = a["amount"][app]
    exposure = np.round(amount * coverage).astype(np.int64)
    pd_ = a["pd"][app]
    surplus = expected_surplus(
        amount=amount / 100.0,
        term_months=a["term"][app],
        annual_rate=rate,
        upfront_fee_rate=p["lp_fee"][lp],
        funding_rate=p["funding"][lender],
        pd_12m=pd_,
        lgd=a["lgd"][app],
        coverage=coverage,
        guarantee_fee_rate=g_fee,
    ).total

    # Demand each party sees: an application's amount shared among the parties it could use.
    n_lenders, n_guarantors = int(p["n_lenders"]), int(p["n_guarantors"])
    per_app = np.bincount(app, minlength=cfg.n_apps).astype(np.float64)
    share = 1.0 / np.maximum(per_app[app], 1.0)
    lender_demand = np.bincount(lender, weights=amount * share, minlength=n_lenders)
    ratio = np.where(p["slc"], cfg.slc_supply_ratio, cfg.bank_supply_ratio)
    budget = _scaled_caps(lender_demand * ratio, 1.0, rng)
    g_demand = np.bincount(
        guarantor[has_g], weights=(exposure * share)[has_g], minlength=n_guarantors
    )
    headroom = _scaled_caps(g_demand, cfg.guarantee_ratio, rng)
    n_firms = int(a["n_firms"])
    firm_keys = [f"firm_{i}" for i in range(n_firms)]
    group_keys = [f"group_{i}" for i in range(int(a["n_groups"]))]

    lenders = []
    for i in range(n_lenders):
        if p["slc"][i]:
            # Small loan company: net assets about a third of its budget; 10% / 15% caps.
            net_assets = int(budget[i] * rng.uniform(0.25, 0.45))
            some = rng.choice(n_firms, size=min(n_firms, 20), replace=False)
            outstanding = {
                firm_keys[f]: int(net_assets * 0.1 * rng.uniform(0.2, 0.9)) for f in some
            }
            lenders.append(
                Lender(
                    f"lender_{i}",
                    int(budget[i]),
                    net_assets // 10,
                    net_assets * 15 // 100,
                    outstanding_by_firm=outstanding,
                )
            )
        else:
            lenders.append(Lender(f"lender_{i}", int(budget[i])))
    guarantors = []
    for g in range(n_guarantors):
        multiple = float(p["multiple"][g])
        used = rng.uniform(0.6, 0.9)  # guarantors run close to their leverage limit
        net_assets = int(headroom[g] / (multiple * (1 - used))) + 1
        already = int(multiple * net_assets) - int(headroom[g])
        some = rng.choice(n_firms, size=min(n_firms, 20), replace=False)
        by_firm = {firm_keys[f]: int(net_assets * 0.1 * rng.uniform(0.2, 0.9)) for f in some}
        guarantors.append(
            Guarantor(f"guarantor_{g}", net_assets, multiple, already, outstanding_by_firm=by_firm)
        )
    return Instance(
        app_ids=[f"app_{i}" for i in range(cfg.n_apps)],
        app_firm=a["firm"],
        app_group=a["group"],
        app_amount=a["amount"],
        app_arrival=a["arrival"],
        firm_keys=firm_keys,
        group_keys=group_keys,
        opt_app=app,
        opt_loan_product=lp,
        opt_lender=lender,
        opt_guarantee_product=gp,
        opt_guarantor=guarantor,
        opt_exposure=exposure,
        opt_surplus=surplus.astype(np.float64),
        loan_product_ids=[f"lp_{i}" for i in range(cfg.n_loan_products)],
        guarantee_product_ids=[f"gp_{i}" for i in range(cfg.n_guarantee_products)],
        lenders=lenders,
        guarantors=guarantors,
    )
