"""Why each application was left out of a run: a stable reason code, the limit and its holder."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.matching.allocation.model import FloatArray, Instance, IntArray
from services.matching.allocation.reduce import Reduced
from services.matching.allocation.resources import LIMITS, Resources

# Reason codes are part of the public API: never rename one, only add. The limit codes are
# the values of resources.Limit (lender_budget_exhausted, single_borrower_limit, ...).
NO_ELIGIBLE_OPTION = "no_eligible_option"
NON_POSITIVE_VALUE = "non_positive_value"
LOWER_VALUE_THAN_COMPETING = "lower_value_than_competing"


@dataclass(frozen=True)
class LeftOut:
    """An application the run did not finance, and why.

    reason: no_eligible_option (with the upstream eligibility codes in ineligible); a limit code
    when that limit rules out every option even before the run; non_positive_value when no
    option is worth anything under the objective; lower_value_than_competing when it could have
    fitted but the capacity went to applications worth more: limit and holder then name the
    limit that blocks its best option in the final allocation.
    """

    application_id: str
    reason: str
    limit: str | None = None
    holder: str | None = None
    detail: str = ""
    ineligible: tuple[str, ...] = ()


def _cny(fen: int) -> str:
    return f"CNY {fen / 100:,.2f}"


def left_out(
    instance: Instance,
    res: Resources,
    values: FloatArray,
    reduced: Reduced,
    chosen: IntArray,
    left: IntArray,
) -> list[LeftOut]:
    """A reason for every application with no option chosen; left is each row's final headroom."""
    starts = instance.option_starts()
    out: list[LeftOut] = []
    for app in np.nonzero(chosen < 0)[0].tolist():
        app_id = instance.app_ids[app]
        s, e = int(starts[app]), int(starts[app + 1])
        upstream = tuple(instance.ineligible.get(app_id, ()))
        if s == e:
            out.append(
                LeftOut(
                    app_id,
                    NO_ELIGIBLE_OPTION,
                    ineligible=upstream,
                    detail="no product is eligible for this application",
                )
            )
            continue
        opts = np.arange(s, e)
        possible = opts[reduced.blocked_alone[opts] < 0]
        if possible.shape[0] == 0:
            best = int(opts[np.argmax(values[opts])])
            slot = int(reduced.blocked_alone[best])
            row = int(res.rid[best, slot])
            out.append(
                LeftOut(
                    app_id,
                    LIMITS[slot].value,
                    LIMITS[slot].value,
                    res.holder(instance, row),
                    f"needs {_cny(int(res.use[best, slot]))}, "
                    f"the limit leaves {_cny(int(res.cap[row]))}",
                    upstream,
                )
            )
            continue
        if values[possible].max() <= 0:
            out.append(
                LeftOut(
                    app_id,
                    NON_POSITIVE_VALUE,
                    ineligible=upstream,
                    detail=f"best option is worth {values[possible].max():,.2f}",
                )
            )
            continue
        best = int(possible[np.argmax(values[possible])])
        short = np.nonzero(left[res.rid[best]] < res.use[best])[0]
        if short.shape[0] == 0:
            # Only reachable when the run stopped early; say so rather than invent a limit.
            out.append(
                LeftOut(
                    app_id,
                    LOWER_VALUE_THAN_COMPETING,
                    ineligible=upstream,
                    detail="fits, but the run's time budget ended before it was placed",
                )
            )
            continue
        slot = int(short[0])
        row = int(res.rid[best, slot])
        out.append(
            LeftOut(
                app_id,
                LOWER_VALUE_THAN_COMPETING,
                LIMITS[slot].value,
                res.holder(instance, row),
                f"best option needs {_cny(int(res.use[best, slot]))}, {_cny(int(left[row]))} left "
                "after applications worth more per unit of this limit",
                upstream,
            )
        )
    return out
