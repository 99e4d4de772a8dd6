"""Small random instances (hypothesis) and a brute-force optimum written apart from the solver."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import strategies as st

from services.matching.allocation import (
    ApplicationRow,
    Guarantor,
    Instance,
    Lender,
    Objective,
    OptionRow,
    build_instance,
)

FIRMS = ["f1", "f2", "f3", "f4"]
GROUPS = [None, "g1", "g1", "g2"]  # f2 and f3 are related parties


@st.composite
def small_instances(draw: st.DrawFn) -> Instance:
    """Up to 7 applications with up to 3 options each, limits tight enough to bind."""
    money = st.integers(0, 40).map(lambda k: k * 100_000)  # fen, steps of CNY 1,000
    lenders = []
    for i in range(draw(st.integers(1, 3))):
        firm_out = draw(st.dictionaries(st.sampled_from(FIRMS), money, max_size=2))
        lenders.append(
            Lender(
                f"L{i}",
                budget=draw(money),
                single_borrower_cap=draw(st.none() | money),
                related_group_cap=draw(st.none() | money),
                outstanding_by_firm=firm_out,
                outstanding_by_group=draw(
                    st.dictionaries(st.sampled_from(["g1", "g2"]), money, max_size=1)
                ),
            )
        )
    guarantors = []
    for i in range(draw(st.integers(0, 2))):
        net_assets = draw(st.integers(1, 30)) * 1_000_000
        guarantors.append(
            Guarantor(
                f"G{i}",
                net_assets=net_assets,
                leverage_multiple=draw(st.sampled_from([0.3, 1.0, 10.0])),
                outstanding=draw(money),
                outstanding_by_firm=draw(
                    st.dictionaries(st.sampled_from(FIRMS), money, max_size=2)
                ),
                outstanding_by_group=draw(
                    st.dictionaries(st.sampled_from(["g1", "g2"]), money, max_size=1)
                ),
            )
        )
    apps, options = [], []
    for a in range(draw(st.integers(1, 7))):
        firm = draw(st.sampled_from(FIRMS))
        apps.append(
            ApplicationRow(
                f"a{a}",
                firm,
                Decimal(draw(st.integers(1, 12)) * 1000),
                draw(st.integers(0, 20)),
                group_key=GROUPS[FIRMS.index(firm)],
            )
        )
        for p in range(draw(st.integers(0, 3))):
            lender = draw(st.integers(0, len(lenders) - 1))
            guarantor = draw(st.integers(-1, len(guarantors) - 1))
            options.append(
                OptionRow(
                    f"a{a}",
                    f"lp{lender}_{p}",
                    f"L{lender}",
                    Decimal(draw(st.integers(-300, 3000))),
                    guarantee_product_id=f"gp{guarantor}" if guarantor >= 0 else None,
                    guarantor_id=f"G{guarantor}" if guarantor >= 0 else None,
                    coverage=Decimal(draw(st.sampled_from(["0.5", "0.7", "0.8"])))
                    if guarantor >= 0
                    else Decimal(0),
                )
            )
    return build_instance(apps, options, lenders, guarantors)


def _draws(instance: Instance, option: int) -> list[tuple[tuple[object, ...], int, int]]:
    """(limit key, draw, headroom) of one option, straight from the regulatory rules."""
    app = int(instance.opt_app[option])
    amount = int(instance.app_amount[app])
    firm = instance.firm_keys[int(instance.app_firm[app])]
    g_idx = int(instance.app_group[app])
    group = instance.group_keys[g_idx] if g_idx >= 0 else None
    lender = instance.lenders[int(instance.opt_lender[option])]
    out = [(("budget", lender.id), amount, lender.budget)]
    if lender.single_borrower_cap is not None:
        out.append(
            (
                ("sb", lender.id, firm),
                amount,
                lender.single_borrower_cap - lender.outstanding_by_firm.get(firm, 0),
            )
        )
    if lender.related_group_cap is not None and group is not None:
        out.append(
            (
                ("rg", lender.id, group),
                amount,
                lender.related_group_cap - lender.outstanding_by_group.get(group, 0),
            )
        )
    if int(instance.opt_guarantor[option]) >= 0:
        g = instance.guarantors[int(instance.opt_guarantor[option])]
        exposure = int(instance.opt_exposure[option])
        out.append(
            (("lev", g.id), exposure, int(g.leverage_multiple * g.net_assets) - g.outstanding)
        )
        out.append(
            (
                ("client", g.id, firm),
                exposure,
                math.floor(g.client_share * g.net_assets) - g.outstanding_by_firm.get(firm, 0),
            )
        )
        if group is not None:
            out.append(
                (
                    ("group", g.id, group),
                    exposure,
                    math.floor(g.group_share * g.net_assets) - g.outstanding_by_group.get(group, 0),
                )
            )
    return out


def feasible(instance: Instance, chosen: list[int]) -> bool:
    """Whether a choice (option index or -1 per application) keeps every limit, by the rules."""
    used: dict[tuple[object, ...], int] = {}
    for option in chosen:
        if option < 0:
            continue
        for key, draw, cap in _draws(instance, option):
            used[key] = used.get(key, 0) + draw
            if draw > 0 and used[key] > cap:
                return False
    return True


def brute_force(instance: Instance, objective: Objective) -> float:
    """The best total value over every choice of at most one option per application."""
    values = instance.option_values(objective)
    per_app: list[list[int]] = [[] for _ in range(instance.n_apps)]
    for o in range(instance.n_options):
        per_app[int(instance.opt_app[o])].append(o)
    draws = {o: _draws(instance, o) for o in range(instance.n_options)}
    used: dict[tuple[object, ...], int] = {}
    best = 0.0

    def visit(app: int, total: float) -> None:
        nonlocal best
        if app == instance.n_apps:
            best = max(best, total)
            return
        visit(app + 1, total)
        for o in per_app[app]:
            if all(d == 0 or used.get(k, 0) + d <= cap for k, d, cap in draws[o]):
                for k, d, _ in draws[o]:
                    used[k] = used.get(k, 0) + d
                visit(app + 1, total + float(values[o]))
                for k, d, _ in draws[o]:
                    used[k] -= d

    visit(0, 0.0)
    return best
