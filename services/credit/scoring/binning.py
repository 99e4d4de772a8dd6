"""Weight-of-evidence binning: supervised bins per feature, a WoE per bin, a bin for missing.

WoE here is ln(share of defaults in the bin / share of non-defaults in the bin): positive
means riskier than average, so a scorecard's coefficients come out positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted


@dataclass(frozen=True)
class FeatureBins:
    """The bins of one feature: numeric cut points or category codes, and a WoE per bin."""

    kind: str  # "numeric", "categorical" or "dropped"
    # numeric: ascending cut points; bin k holds cuts[k-1] <= x < cuts[k].
    cuts: tuple[float, ...]
    # categorical: category code -> bin index; unseen codes go to the "other" bin.
    categories: tuple[tuple[float, int], ...]
    woe: tuple[float, ...]
    missing_woe: float
    # Training rows per bin and defaults per bin (for reports and the points table).
    counts: tuple[int, ...]
    bads: tuple[int, ...]
    missing_count: int
    missing_bads: int
    iv: float

    def labels(self) -> list[str]:
        """A readable label per bin: '[a, b)' for numbers, 'code, code' for categories."""
        if self.kind == "numeric":
            edges = [-np.inf, *self.cuts, np.inf]
            return [f"[{edges[k]:.4g}, {edges[k + 1]:.4g})" for k in range(len(edges) - 1)]
        if self.kind == "categorical":
            groups: dict[int, list[str]] = {}
            for code, b in self.categories:
                groups.setdefault(b, []).append(f"{code:g}")
            return [", ".join(groups.get(b, ["other"])) for b in range(len(self.woe))]
        return ["all"]


def _woe(
    bads: NDArray[Any], goods: NDArray[Any], total_bad: float, total_good: float
) -> NDArray[np.float64]:
    # Half a count of smoothing keeps a bin with no defaults (or no repayments) finite.
    return np.log(((bads + 0.5) / (total_bad + 0.5)) / ((goods + 0.5) / (total_good + 0.5)))


class WoEBinner(TransformerMixin, BaseEstimator):
    """Bin each column of X (NaN = missing) and replace values by the WoE of their bin.

    Parameters
    ----------
    max_bins : int
        Most bins per numeric feature (a shallow decision tree on the feature finds them).
    min_bin_share : float
        Least share of the rows a bin may hold.
    categorical_features : tuple of int
        Columns whose values are category codes rather than quantities.
    """

    def __init__(
        self,
        max_bins: int = 8,
        min_bin_share: float = 0.03,
        categorical_features: tuple[int, ...] = (),
    ) -> None:
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.categorical_features = categorical_features

    def fit(self, X: NDArray[np.float64], y: NDArray[np.int_]) -> WoEBinner:
        """Find the bins and their WoE on training rows X and default labels y."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y).astype(int)
        self.n_features_in_ = X.shape[1]
        total_bad = float(y.sum())
        total_good = float(len(y) - total_bad)
        min_rows = max(int(self.min_bin_share * len(y)), 1)
        self.bins_: list[FeatureBins] = []
        for j in range(X.shape[1]):
            col = X[:, j]
            present = ~np.isnan(col)
            if j in self.categorical_features:
                bins = self._fit_categorical(col, y, present, min_rows, total_bad, total_good)
            else:
                bins = self._fit_numeric(col, y, present, min_rows, total_bad, total_good)
            self.bins_.append(bins)
        return self

    def _finish(
        self,
        kind: str,
        idx: NDArray[np.int_],
        n_bins: int,
        y: NDArray[np.int_],
        present: NDArray[np.bool_],
        total_bad: float,
        total_good: float,
        cuts: tuple[float, ...] = (),
        categories: tuple[tuple[float, int], ...] = (),
    ) -> FeatureBins:
        yp = y[present]
        counts = np.bincount(idx, minlength=n_bins).astype(float)
        bads = np.bincount(idx, weights=yp, minlength=n_bins)
        woe = _woe(bads, counts - bads, total_bad, total_good)
        m_count, m_bads = int((~present).sum()), int(y[~present].sum())
        # An unseen missing value is neutral; a seen one gets its own evidence.
        missing_woe = (
            float(_woe(np.array([m_bads]), np.array([m_count - m_bads]), total_bad, total_good)[0])
            if m_count
            else 0.0
        )
        all_bads = np.append(bads, m_bads)
        all_goods = np.append(counts - bads, m_count - m_bads)
        all_woe = np.append(woe, missing_woe)
        share_b = all_bads / max(total_bad, 1.0)
        share_g = all_goods / max(total_good, 1.0)
        iv = float(np.sum((share_b - share_g) * all_woe))
        if n_bins <= 1 and m_count == 0:
            kind = "dropped"
        return FeatureBins(
            kind=kind,
            cuts=cuts,
            categories=categories,
            woe=tuple(float(w) for w in woe),
            missing_woe=missing_woe,
            counts=tuple(int(c) for c in counts),
            bads=tuple(int(b) for b in bads),
            missing_count=m_count,
            missing_bads=m_bads,
            iv=round(iv, 6),
        )

    def _fit_numeric(
        self,
        col: NDArray[np.float64],
        y: NDArray[np.int_],
        present: NDArray[np.bool_],
        min_rows: int,
        total_bad: float,
        total_good: float,
    ) -> FeatureBins:
        values = col[present]
        cuts: tuple[float, ...] = ()
        if values.size and np.unique(values).size > 1 and 0 < y[present].sum() < values.size:
            tree = DecisionTreeClassifier(
                max_leaf_nodes=self.max_bins, min_samples_leaf=min_rows, random_state=0
            )
            tree.fit(values.reshape(-1, 1), y[present])
            thresholds = tree.tree_.threshold[tree.tree_.feature >= 0]
            cuts = tuple(float(t) for t in np.sort(thresholds))
        idx = np.searchsorted(np.array(cuts), values, side="right")
        if not values.size:
            return self._finish("dropped", idx, 0, y, present, total_bad, total_good)
        return self._finish(
            "numeric", idx, len(cuts) + 1, y, present, total_bad, total_good, cuts=cuts
        )

    def _fit_categorical(
        self,
        col: NDArray[np.float64],
        y: NDArray[np.int_],
        present: NDArray[np.bool_],
        min_rows: int,
        total_bad: float,
        total_good: float,
    ) -> FeatureBins:
        values = col[present]
        codes, counts = np.unique(values, return_counts=True)
        # Rare categories share one "other" bin (bin 0), so no WoE rests on a handful of rows.
        frequent = [c for c, n in zip(codes, counts, strict=True) if n >= min_rows]
        mapping = tuple((float(c), k + 1) for k, c in enumerate(frequent))
        lookup = dict(mapping)
        idx = np.array([lookup.get(float(v), 0) for v in values], dtype=np.int64)
        if len(frequent) == len(codes) and len(codes) > 0:
            # Nothing is rare: "other" only catches categories unseen in training (neutral).
            idx = idx - 1
            mapping = tuple((c, k - 1) for c, k in mapping)
            result = self._finish(
                "categorical",
                idx,
                len(frequent),
                y,
                present,
                total_bad,
                total_good,
                categories=mapping,
            )
            return result
        return self._finish(
            "categorical",
            idx,
            len(frequent) + 1,
            y,
            present,
            total_bad,
            total_good,
            categories=mapping,
        )

    def bin_index(self, X: NDArray[np.float64]) -> NDArray[np.int_]:
        """The bin of every value of X; -1 for missing, -2 for an unseen category."""
        check_is_fitted(self, "bins_")
        X = np.asarray(X, dtype=float)
        out = np.empty(X.shape, dtype=np.int64)
        for j, b in enumerate(self.bins_):
            col = X[:, j]
            if b.kind == "numeric":
                idx = np.searchsorted(np.array(b.cuts), col, side="right")
            elif b.kind == "categorical":
                lookup = dict(b.categories)
                # Unseen categories land in "other" when it exists (bin 0 of a rare group).
                other = 0 if len(b.woe) > len(b.categories) else -2
                idx = np.array([lookup.get(float(v), other) for v in col], dtype=np.int64)
            else:
                idx = np.zeros(col.shape, dtype=np.int64)
            out[:, j] = np.where(np.isnan(col), -1, idx)
        return out

    def transform(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """The WoE of each value's bin (missing: the missing bin's WoE; unseen: 0)."""
        idx = self.bin_index(X)
        out = np.zeros(idx.shape)
        for j, b in enumerate(self.bins_):
            table = np.append(np.array(b.woe, dtype=float), [0.0, b.missing_woe])
            # Index -2 (unseen) reads the 0.0 slot, -1 (missing) the missing WoE.
            out[:, j] = table[np.where(idx[:, j] >= 0, idx[:, j], len(b.woe) + 2 + idx[:, j])]
        return out
