"""Tipton-style strata: k-means on standardised covariates and proportional quotas."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import KMeans

__all__ = ["default_n_strata", "make_strata", "proportional_quotas"]


def default_n_strata(k: int) -> int:
    """S ≈ min(12, k/3), at least 1 (research/matching.md §4)."""
    return int(max(1, min(12, k // 3)))


def make_strata(z: NDArray[np.float64], n_strata: int, random_state: int | None = 0) -> NDArray:
    """K-means stratum label per row of the standardised covariate matrix ``z``."""
    distinct = np.unique(z, axis=0).shape[0]
    n_strata = int(max(1, min(n_strata, distinct)))  # k-means cannot find more centres than points
    if n_strata == 1:
        return np.zeros(z.shape[0], dtype=np.intp)
    km = KMeans(n_clusters=n_strata, n_init=10, random_state=random_state).fit(z)
    # Relabel by first appearance so labels do not depend on k-means' internal numbering.
    _, first = np.unique(km.labels_, return_index=True)
    remap = np.empty(n_strata, dtype=np.intp)
    remap[km.labels_[np.sort(first)]] = np.arange(n_strata)
    return remap[km.labels_]


def proportional_quotas(sizes: NDArray[np.integer], k: int) -> NDArray[np.intp]:
    """Largest-remainder allocation of k over strata in proportion to their sizes."""
    sizes = np.asarray(sizes, dtype=float)
    exact = np.round(k * sizes / sizes.sum(), 9)  # so 3.0000000001 does not ceil to 4
    floor = np.floor(exact).astype(np.intp)
    target = floor.copy()
    remainder = exact - floor
    leftover = int(k - floor.sum())
    # Stable sort: ties go to the lower stratum label, so the allocation is reproducible.
    target[np.argsort(-remainder, kind="stable")[:leftover]] += 1
    return target
