"""Group participants on their 2-D positions: k-means, k chosen by silhouette."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

UNASSIGNED = -1


@dataclass(frozen=True, eq=False)
class Clustering:
    """Labels for every participant (-1 = unassigned) and what the choice of k was based on."""

    labels: np.ndarray
    core: np.ndarray
    centers: np.ndarray
    silhouette: float
    silhouette_scores: dict[int, float]


def _silhouette(points: np.ndarray, labels: np.ndarray, size: int, seed: int) -> float:
    # Sample ourselves rather than via silhouette_score(sample_size=...) so that a sample that
    # happens to hold a single group scores as "no structure" instead of raising.
    if len(points) > size:
        pick = np.random.default_rng(seed).choice(len(points), size=size, replace=False)
        points, labels = points[pick], labels[pick]
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels > len(points) - 1:
        return -1.0
    return float(silhouette_score(points, labels))


def _canonical(labels: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Number groups by size (largest first), ties by position, so ids do not depend on
    # k-means' arbitrary numbering.
    sizes = np.bincount(labels, minlength=len(centers))
    order = np.lexsort((centers[:, 1], centers[:, 0], -sizes))
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    return relabel[labels], centers[order]


def cluster(
    embedding: np.ndarray,
    n_votes: np.ndarray,
    gate: int,
    *,
    max_groups: int,
    n_init: int,
    sample_size: int,
    seed: int,
) -> Clustering:
    """Cluster people with at least `gate` votes; put lighter voters in the nearest group."""
    n = len(embedding)
    core = (n_votes >= max(gate, 1)) & (n_votes > 0)
    labels = np.full(n, UNASSIGNED, dtype=np.int64)
    points = embedding[core]
    if len(points) == 0:
        return Clustering(labels, core, np.zeros((0, 2)), float("nan"), {})

    # k-means cannot find more groups than distinct points, and silhouette needs k < n. Points
    # that differ only by rounding noise of the projection are the same point to k-means.
    scale = max(float(np.abs(points).max()), 1.0)
    n_distinct = len(np.unique(np.round(points / scale, 9), axis=0))
    largest_k = min(max_groups, n_distinct, len(points) - 1)
    scores: dict[int, float] = {}
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for k in range(2, largest_k + 1):
        # k-means on 2-D points does so little work per iteration that OpenMP threads cost
        # more in synchronisation than they save: measured 4x slower on a busy 2-core server.
        with threadpool_limits(limits=1, user_api="openmp"), warnings.catch_warnings():
            # Raised when fewer than k clusters could be filled: such a k is no candidate.
            warnings.simplefilter("error", ConvergenceWarning)
            try:
                model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(points)
            except ConvergenceWarning:
                break
        score = _silhouette(points, model.labels_, sample_size, seed)
        scores[k] = score
        if best is None or score > best[0]:
            best = (score, model.labels_, model.cluster_centers_)

    if best is None:
        # Too few or too alike participants to split: one group saying what they share.
        core_labels, centers, silhouette = (
            np.zeros(len(points), dtype=np.int64),
            points.mean(axis=0, keepdims=True),
            float("nan"),
        )
    else:
        silhouette, core_labels, centers = best
        core_labels, centers = _canonical(core_labels.astype(np.int64), centers)
    labels[core] = core_labels

    light = ~core & (n_votes > 0)
    if light.any():
        distances = ((embedding[light, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        labels[light] = distances.argmin(axis=1)
    return Clustering(labels, core, centers, float(silhouette), scores)
