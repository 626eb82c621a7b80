"""Demand per locality: empirical-Bayes beta-binomial shrinkage of relevant-support shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats
from sklearn.base import BaseEstimator

__all__ = ["BetaBinomialDemand", "DemandEstimate"]

# Bounds on log α, log β: keeps the optimiser finite when the data show no over-dispersion
# (α+β → ∞, the binomial limit) or when every share is 0 (α → 0).
_LOG_BOUNDS = (np.log(1e-3), np.log(1e6))


@dataclass(frozen=True, eq=False)
class DemandEstimate:
    """Posterior demand per locality; every field is an array with one value per locality."""

    successes: NDArray[np.float64]
    participants: NDArray[np.float64]
    mean: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    shrinkage: NDArray[np.float64]
    eligible: NDArray[np.bool_]
    per_10k: NDArray[np.float64]
    expected_supporters: NDArray[np.float64]


def _clean(successes: ArrayLike, participants: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    n = np.clip(np.asarray(participants, dtype=float), 0.0, None)
    y = np.clip(np.asarray(successes, dtype=float), 0.0, None)
    if y.shape != n.shape:
        raise ValueError("successes and participants must have the same shape")
    return np.minimum(y, n), n


def _moments(y: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Method-of-moments (α, β) from the spread of raw shares (Robinson's quick start)."""
    share = y / n
    mu = float(np.clip(share.mean(), 1e-4, 1 - 1e-4))
    var = float(share.var(ddof=1)) if share.size > 1 else 0.0
    # Binomial noise alone gives var ≈ μ(1−μ)/n̄; anything less means no visible over-dispersion.
    if var <= 0 or var >= mu * (1 - mu):
        strength = 1e3
    else:
        strength = float(np.clip(mu * (1 - mu) / var - 1.0, 1e-2, 1e6))
    return mu * strength, (1 - mu) * strength


def _neg_loglik(theta: np.ndarray, y: np.ndarray, n: np.ndarray) -> tuple[float, np.ndarray]:
    a, b = np.exp(theta)
    # log C(n, y) does not depend on (α, β), so it is left out.
    ll = special.betaln(y + a, n - y + b) - special.betaln(a, b)
    dg_ab, dg_nab = special.digamma(a + b), special.digamma(n + a + b)
    da = special.digamma(y + a) - dg_nab - special.digamma(a) + dg_ab
    db = special.digamma(n - y + b) - dg_nab - special.digamma(b) + dg_ab
    grad = -np.array([da.sum() * a, db.sum() * b])  # chain rule for the log parameters
    return -float(ll.sum()), grad


class BetaBinomialDemand(BaseEstimator):
    """Empirical-Bayes Beta(α, β) prior fitted across localities with enough participants.

    Posterior mean (y+α)/(n+α+β) and a ``lower_quantile`` credible bound for conservative
    ranking. Fitted: ``alpha_``, ``beta_``, ``prior_mean_``, ``prior_strength_``, ``method_``
    ('mle' or 'moments' when the optimiser fails), ``n_fit_``.
    """

    def __init__(
        self,
        min_participants: int = 30,
        lower_quantile: float = 0.05,
        upper_quantile: float = 0.95,
        method: str = "mle",
    ) -> None:
        self.min_participants = min_participants
        self.lower_quantile = lower_quantile
        self.upper_quantile = upper_quantile
        self.method = method

    def fit(self, successes: ArrayLike, participants: ArrayLike) -> BetaBinomialDemand:
        """Fit (α, β) by maximum marginal likelihood over rows with n ≥ min_participants."""
        if self.method not in ("mle", "moments"):
            raise ValueError("method must be 'mle' or 'moments'")
        y, n = _clean(successes, participants)
        use = (n >= max(self.min_participants, 1)) & (n > 0)
        if use.sum() < 2:
            # Too little data to learn a spread: a weak prior centred on the pooled rate.
            pooled = float((y.sum() + 1.0) / (n.sum() + 2.0))
            alpha, beta, method = 2.0 * pooled, 2.0 * (1.0 - pooled), "pooled"
        else:
            alpha, beta = _moments(y[use], n[use])
            method = "moments"
            if self.method == "mle":
                start = np.clip(np.log([alpha, beta]), *_LOG_BOUNDS)
                res = optimize.minimize(
                    _neg_loglik,
                    start,
                    args=(y[use], n[use]),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=[_LOG_BOUNDS, _LOG_BOUNDS],
                )
                if res.success and np.all(np.isfinite(res.x)):
                    alpha, beta = (float(v) for v in np.exp(res.x))
                    method = "mle"
        self.alpha_, self.beta_, self.method_ = alpha, beta, method
        self.prior_strength_ = alpha + beta
        self.prior_mean_ = alpha / (alpha + beta)
        self.n_fit_ = int(use.sum())
        return self

    def estimate(
        self,
        successes: ArrayLike,
        participants: ArrayLike,
        population: ArrayLike | None = None,
    ) -> DemandEstimate:
        """Posterior mean, credible interval, shrinkage and per-capita views per locality."""
        y, n = _clean(successes, participants)
        a, b = y + self.alpha_, n - y + self.beta_
        pop = np.full(n.shape, np.nan) if population is None else np.asarray(population, float)
        has_pop = np.isfinite(pop) & (pop > 0)
        mean = a / (a + b)
        return DemandEstimate(
            successes=y,
            participants=n,
            mean=mean,
            lower=stats.beta.ppf(self.lower_quantile, a, b),
            upper=stats.beta.ppf(self.upper_quantile, a, b),
            shrinkage=n / (n + self.prior_strength_),
            eligible=n >= self.min_participants,
            per_10k=np.divide(y * 1e4, pop, out=np.full(n.shape, np.nan), where=has_pop),
            expected_supporters=np.where(has_pop, mean * np.where(has_pop, pop, 0.0), np.nan),
        )
