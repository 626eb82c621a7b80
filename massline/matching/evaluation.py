"""Portfolio against plain top-k and a random draw, and the trade-off curve over δ."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone

from massline.matching.data import LocalityData
from massline.matching.metrics import (
    PortfolioMetrics,
    evaluate,
    random_b_distribution,
    random_draw,
    top_k,
)
from massline.matching.portfolio import PortfolioResult, PortfolioSelector

__all__ = ["TradeoffPoint", "compare_portfolios", "tradeoff_curve"]


@dataclass(frozen=True, eq=False)
class TradeoffPoint:
    """One δ on the curve: the solver outcome and its metrics (None when infeasible)."""

    delta: float | None
    result: PortfolioResult
    metrics: PortfolioMetrics | None


def _reference(localities: LocalityData, demand: np.ndarray, eligible: ArrayLike | None):
    ref = localities.eligible if eligible is None else np.asarray(eligible, bool)
    return ref & localities.eligible & np.isfinite(demand)


def compare_portfolios(
    selector: PortfolioSelector,
    localities: LocalityData,
    demand: ArrayLike,
    eligible: ArrayLike | None = None,
    n_random: int = 200,
    b_reference: NDArray[np.float64] | None = None,
) -> dict[str, PortfolioMetrics | None]:
    """Metrics for the fitted selector's portfolio, the plain top-k and one random draw."""
    d = np.asarray(demand, dtype=float)
    ref = _reference(localities, d, eligible)
    if not ref.any():  # no eligible place: no portfolio, and nothing to measure one against
        return {"portfolio": None, "top_k": None, "random": None}
    k = int(selector.k)
    if b_reference is None:
        b_reference = random_b_distribution(
            localities.covariates, ref, k, n_random, selector.random_state
        )
    result = selector.result_
    out: dict[str, PortfolioMetrics | None] = {}
    out["portfolio"] = (
        evaluate("portfolio", localities, d, result.selected, ref, b_reference)
        if result.feasible
        else None
    )
    out["top_k"] = evaluate("top_k", localities, d, top_k(d, ref, k), ref, b_reference)
    draw = random_draw(ref, k, selector.random_state)
    out["random"] = evaluate("random", localities, d, draw, ref, b_reference)
    return out


def tradeoff_curve(
    selector: PortfolioSelector,
    localities: LocalityData,
    demand: ArrayLike,
    deltas: tuple[float | None, ...] = (0.05, 0.1, 0.25, None),
    eligible: ArrayLike | None = None,
    n_random: int = 200,
    b_reference: NDArray[np.float64] | None = None,
) -> list[TradeoffPoint]:
    """Re-solve at each δ without relaxation so the planner sees what each bound costs."""
    d = np.asarray(demand, dtype=float)
    ref = _reference(localities, d, eligible)
    if b_reference is None:
        b_reference = random_b_distribution(
            localities.covariates, ref, int(selector.k), n_random, selector.random_state
        )
    points = []
    for delta in deltas:
        fitted = clone(selector).set_params(delta=delta, relax=False).fit(localities, d, ref)
        res = fitted.result_
        metrics = (
            evaluate(f"delta={delta}", localities, d, res.selected, ref, b_reference)
            if res.feasible
            else None
        )
        points.append(TradeoffPoint(delta, res, metrics))
    return points
