"""Matched comparison localities for pilots: one-to-one assignment on covariate distance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from massline.matching.data import LocalityData, standardise

__all__ = ["ComparisonResult", "match_comparisons"]


@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """``comparison[i]`` is the row matched to ``pilots[i]`` (−1 if none was possible)."""

    pilots: NDArray[np.intp]
    comparison: NDArray[np.intp]
    distance: NDArray[np.float64]
    message: str


def match_comparisons(
    localities: LocalityData,
    pilots: ArrayLike,
    candidates: ArrayLike | None = None,
    exclude_existing_pilots: bool = True,
) -> ComparisonResult:
    """Pair each pilot with a distinct non-pilot outside its prefecture, minimising total distance.

    Distance is Euclidean on covariates standardised over the eligible localities (the
    diagonal Mahalanobis of research/matching.md §2.4). Candidates default to eligible rows;
    localities already carrying pilots are left out unless ``exclude_existing_pilots`` is off.
    """
    pilots = np.asarray(pilots, dtype=np.intp)
    pool = localities.eligible.copy() if candidates is None else np.asarray(candidates, bool).copy()
    pool[pilots] = False
    if exclude_existing_pilots:
        pool &= localities.pilot_counts == 0
    cols = np.flatnonzero(pool)
    empty = np.full(pilots.size, -1, dtype=np.intp)
    if pilots.size == 0 or cols.size == 0:
        msg = "no pilots given" if pilots.size == 0 else "no comparison candidates"
        return ComparisonResult(pilots, empty, np.full(pilots.size, np.nan), msg)
    z, _, _ = standardise(localities.covariates, localities.eligible)
    cost = cdist(z[pilots], z[cols])
    # Same prefecture means spillover risk: forbid with a cost no real pair can reach.
    forbidden = localities.prefecture_codes[pilots][:, None] == localities.prefecture_codes[cols]
    big = float(cost.max() * (pilots.size + 1) + 1.0)
    cost[forbidden] = big
    rows, picked = linear_sum_assignment(cost)
    comparison, distance = empty.copy(), np.full(pilots.size, np.nan)
    ok = cost[rows, picked] < big
    comparison[rows[ok]] = cols[picked[ok]]
    distance[rows[ok]] = cost[rows[ok], picked[ok]]
    unmatched = int(pilots.size - ok.sum())
    msg = "all pilots matched" if unmatched == 0 else f"{unmatched} pilots have no valid comparison"
    return ComparisonResult(pilots, comparison, distance, msg)
