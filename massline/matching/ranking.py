"""Rank localities by shrunken demand, with the evidence a planner needs on every row."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from massline.matching.data import LocalityData
from massline.matching.demand import BetaBinomialDemand, DemandEstimate

__all__ = ["RankedLocality", "Ranking", "rank_localities"]


@dataclass
class RankedLocality:
    """One ranking row; ``top_priorities`` and ``top_themes`` are slots the caller fills."""

    code: str
    name: str
    province_code: str
    region: str
    rank: int | None
    score: float
    lower: float
    upper: float
    demand: float
    supporters: float
    assisted_supporters: float
    participants: float
    population: float
    per_10k: float
    shrinkage: float
    eligible: bool
    top_priorities: list[object] = field(default_factory=list)
    top_themes: list[object] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Ranking:
    """Rows best first (eligible ranked 1..m, then ineligible unranked) plus per-locality arrays."""

    rows: list[RankedLocality]
    order: NDArray[np.intp]
    score: NDArray[np.float64]
    eligible: NDArray[np.bool_]
    estimate: DemandEstimate
    model: BetaBinomialDemand


def rank_localities(
    localities: LocalityData,
    supporters: ArrayLike,
    participants: ArrayLike,
    assisted: ArrayLike | None = None,
    *,
    model: BetaBinomialDemand | None = None,
    score: str = "lower",
) -> Ranking:
    """Fit the demand prior, score every locality (``lower`` bound or posterior ``mean``), rank."""
    if score not in ("lower", "mean"):
        raise ValueError("score must be 'lower' or 'mean'")
    online = np.asarray(supporters, dtype=float)
    offline = np.zeros_like(online) if assisted is None else np.asarray(assisted, dtype=float)
    n = np.asarray(participants, dtype=float)
    if not (online.shape == offline.shape == n.shape == (len(localities),)):
        raise ValueError("supporters, assisted and participants need one value per locality")
    # Assisted (offline) supporters are real people and count toward demand, but stay visible.
    y = online + offline
    model = model or BetaBinomialDemand()
    admin = localities.eligible
    model.fit(y[admin], n[admin])
    est = model.estimate(y, n, localities.population)
    values = est.lower if score == "lower" else est.mean
    eligible = admin & est.eligible
    # Eligible first, best score first; ties by more participants, then code, so runs repeat.
    order = np.lexsort((localities.codes, -n, -values, ~eligible)).astype(np.intp)
    rows = []
    for position, i in enumerate(order.tolist()):
        rows.append(
            RankedLocality(
                code=str(localities.codes[i]),
                name=str(localities.names[i]),
                province_code=str(localities.province_codes[i]),
                region=str(localities.regions[i]),
                rank=position + 1 if eligible[i] else None,
                score=float(values[i]),
                lower=float(est.lower[i]),
                upper=float(est.upper[i]),
                demand=float(est.mean[i]),
                supporters=float(online[i]),
                assisted_supporters=float(offline[i]),
                participants=float(n[i]),
                population=float(localities.population[i]),
                per_10k=float(est.per_10k[i]),
                shrinkage=float(est.shrinkage[i]),
                eligible=bool(eligible[i]),
            )
        )
    return Ranking(rows, order, values, eligible, est, model)
