"""Choose k pilot sites: maximise demand subject to balance, quotas and caps, as one MILP."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator

from massline.matching.data import LocalityData, standardise
from massline.matching.program import FAMILIES, SelectionProgram, explain
from massline.matching.strata import default_n_strata, make_strata, proportional_quotas

__all__ = ["FAMILIES", "PortfolioResult", "PortfolioSelector"]


@dataclass(frozen=True, eq=False)
class PortfolioResult:
    """Outcome of one selection; ``selected`` holds row indices, best demand first."""

    status: str  # optimal | relaxed | time_limit | infeasible
    selected: NDArray[np.intp]
    codes: list[str]
    delta_requested: float | None
    delta_used: float | None
    message: str
    binding: tuple[str, ...] = ()
    attempts: list[tuple[float | None, str]] = field(default_factory=list)
    solve_seconds: float = 0.0

    @property
    def feasible(self) -> bool:
        """True when a portfolio was found."""
        return self.status != "infeasible"


class PortfolioSelector(BaseEstimator):
    """K sites maximising Σ x·(demand z-score − penalty·pilot load) under linear constraints.

    Balance: |mean_S(z_j)| ≤ δ for every standardised covariate (z against the reference set).
    Strata: k-means strata of the reference; each stratum's count lies within ``quota_slack`` of
    its largest-remainder proportional quota (±1 as in research/matching.md §4; 0 = exact).
    HiGHS stops once within ``mip_rel_gap`` of the optimum; ``time_limit`` applies per solve;
    after a failure each "drop one family" probe gets ``diagnose_time_limit``.
    ``max_per_province=None`` means ⌈k / provinces⌉ + 1. Fitted: ``result_``, ``selected_``,
    ``strata_`` (−1 outside the reference), ``quotas_``, ``z_``, ``max_per_province_``.
    """

    def __init__(
        self,
        k: int = 10,
        delta: float | None = 0.1,
        relax: bool = True,
        relax_steps: tuple[float | None, ...] = (0.05, 0.1, 0.15, 0.25, None),
        n_strata: int | None = None,
        max_per_province: int | None = None,
        min_per_region: int = 1,
        pilot_penalty: float = 0.5,
        max_pilots: int | None = None,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        quota_slack: int = 1,
        mip_rel_gap: float = 0.01,
        time_limit: float = 10.0,
        diagnose_time_limit: float = 2.0,
        random_state: int | None = 0,
    ) -> None:
        self.k = k
        self.delta = delta
        self.relax = relax
        self.relax_steps = relax_steps
        self.n_strata = n_strata
        self.max_per_province = max_per_province
        self.min_per_region = min_per_region
        self.pilot_penalty = pilot_penalty
        self.max_pilots = max_pilots
        self.include = include
        self.exclude = exclude
        self.quota_slack = quota_slack
        self.mip_rel_gap = mip_rel_gap
        self.time_limit = time_limit
        self.diagnose_time_limit = diagnose_time_limit
        self.random_state = random_state

    def fit(
        self, localities: LocalityData, demand: ArrayLike, eligible: ArrayLike | None = None
    ) -> PortfolioSelector:
        """Select the portfolio; ``eligible`` is the reference population (default: registry)."""
        k = int(self.k)
        ref = localities.eligible if eligible is None else np.asarray(eligible, dtype=bool)
        ref = ref & localities.eligible
        d = np.asarray(demand, dtype=float)
        ref = ref & np.isfinite(d)
        include = localities.indices(self.include)
        exclude = localities.indices(self.exclude)
        cov = localities.covariates
        self.z_ = standardise(cov, ref)[0] if ref.any() else np.zeros_like(cov)
        selectable = ref.copy()
        selectable[exclude] = False
        if self.max_pilots is not None:
            selectable &= localities.pilot_counts < self.max_pilots
        n_prov = max(1, np.unique(localities.province_codes[ref]).size)
        self.max_per_province_ = (
            math.ceil(k / n_prov) + 1 if self.max_per_province is None else self.max_per_province
        )
        self.strata_ = np.full(len(localities), -1, dtype=np.intp)
        self.quotas_ = np.zeros(0, dtype=np.intp)
        problem = _precheck(k, ref, selectable, include, exclude, localities)
        if problem:
            self.result_ = _infeasible(problem, self.delta, ())
        else:
            s = self.n_strata or default_n_strata(k)
            self.strata_[ref] = make_strata(self.z_[ref], s, self.random_state)
            sizes = np.bincount(self.strata_[ref])
            self.quotas_ = proportional_quotas(sizes, k)
            low = np.maximum(self.quotas_ - self.quota_slack, 0)
            high = self.quotas_ + self.quota_slack
            zd, _, _ = standardise(np.where(ref, d, 0.0)[:, None], ref)
            gain = zd[:, 0] - self.pilot_penalty * localities.pilot_counts
            model = SelectionProgram(
                localities,
                self.z_,
                selectable,
                gain,
                self.strata_,
                low,
                high,
                include,
                k,
                self.max_per_province_,
                self.min_per_region,
            )
            model.options.update(time_limit=self.time_limit, mip_rel_gap=self.mip_rel_gap)
            self.result_ = self._search(model, d)
        self.selected_ = self.result_.selected
        return self

    def _search(self, model: SelectionProgram, demand: np.ndarray) -> PortfolioResult:
        start = time.perf_counter()
        steps = [self.delta]
        if self.relax and self.delta is not None:
            steps += [s for s in self.relax_steps if s is None or s > self.delta]
        attempts: list[tuple[float | None, str]] = []
        for delta in steps:
            status, x = model.solve(set(FAMILIES), delta)
            attempts.append((delta, status))
            if x is not None:
                break
        if x is None:
            # Diagnose only on failure (each probe is a full solve), at the loosest δ tried.
            binding = model.diagnose(steps[-1], self.diagnose_time_limit)
            seconds = time.perf_counter() - start
            return _infeasible(explain(binding), self.delta, binding, attempts, seconds)
        seconds = time.perf_counter() - start
        chosen = np.flatnonzero(model.columns_mask)[x > 0.5]
        chosen = chosen[np.lexsort((model.codes[chosen], -demand[chosen]))]
        used = attempts[-1][0]
        if used != self.delta:
            label = "none" if used is None else f"{used:g}"
            state = "relaxed"
            note = (
                f"covariate balance at δ = {self.delta:g} cannot be met together with the other "
                f"constraints; δ relaxed to {label}"
            )
        elif status == "time_limit":
            state, note = "time_limit", "time limit reached; best portfolio found so far"
        else:
            state, note = "optimal", "optimal portfolio"
        return PortfolioResult(
            state,
            chosen.astype(np.intp),
            model.codes[chosen].tolist(),
            self.delta,
            used,
            note,
            ("balance",) if state == "relaxed" else (),
            attempts,
            seconds,
        )


def _precheck(k, ref, selectable, include, exclude, loc) -> str:
    """Problems that need no solver, each with a message a planner can act on."""
    if k < 1:
        return "k must be at least 1"
    clash = set(include.tolist()) & set(exclude.tolist())
    if clash:
        return f"localities both included and excluded: {', '.join(loc.codes[sorted(clash)])}"
    bad = [i for i in include.tolist() if not selectable[i]]
    if bad:
        names = ", ".join(loc.codes[bad])
        return f"included localities are not eligible or over the pilot cap: {names}"
    if include.size > k:
        return f"{include.size} localities must be included but k = {k}"
    if selectable.sum() < k:
        return f"only {int(selectable.sum())} eligible localities remain for k = {k}"
    return ""


def _infeasible(message, delta, binding, attempts=None, seconds=0.0) -> PortfolioResult:
    return PortfolioResult(
        "infeasible",
        np.zeros(0, dtype=np.intp),
        [],
        delta,
        None,
        f"no feasible portfolio: {message}",
        binding,
        attempts or [],
        seconds,
    )
