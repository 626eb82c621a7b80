"""The portfolio mixed-integer program (HiGHS via scipy.optimize.milp), by constraint family."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from massline.matching.data import LocalityData

__all__ = ["FAMILIES", "SelectionProgram", "explain"]

FAMILIES = ("balance", "strata", "province", "region", "include")
_LABELS = {
    "balance": "covariate balance (|SMD| ≤ δ)",
    "strata": "stratum quotas",
    "province": "province cap",
    "region": "at least one per region",
    "include": "must-include list",
}


class SelectionProgram:
    """Binary x per selectable locality: min −gainᵀx s.t. Σx = k and the families' rows.

    Rows are kept per family (strata, province, region; balance and include are built per
    solve because they depend on δ and on whether they are switched on) so that diagnosis can
    drop one family at a time.
    """

    def __init__(
        self,
        loc: LocalityData,
        z: NDArray[np.float64],
        selectable: NDArray[np.bool_],
        gain: NDArray[np.float64],
        strata: NDArray[np.intp],
        low: NDArray[np.intp],
        high: NDArray[np.intp],
        include: NDArray[np.intp],
        k: int,
        cap: int,
        per_region: int,
    ) -> None:
        self.options = {"disp": False}
        self.columns_mask = selectable
        self.codes = loc.codes
        cols = np.flatnonzero(selectable)
        self.cost = -gain[cols]
        self.z = z[cols]
        self.k = k
        self.rows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        strata_rows = strata[cols][None, :] == np.arange(low.size)[:, None]
        self.rows["strata"] = (strata_rows.astype(float), low.astype(float), high.astype(float))
        provinces = loc.province_codes[cols]
        prov = (provinces[None, :] == np.unique(provinces)[:, None]).astype(float)
        self.rows["province"] = (prov, np.zeros(len(prov)), np.full(len(prov), float(cap)))
        regions = np.unique(loc.regions[strata >= 0])
        reg = (loc.regions[cols][None, :] == regions[:, None]).astype(float)
        if per_region > 0 and k >= per_region * regions.size:
            self.rows["region"] = (
                reg,
                np.full(regions.size, float(per_region)),
                np.full(regions.size, np.inf),
            )
        self.include_cols = np.searchsorted(cols, include)

    def solve(
        self, families: set[str], delta: float | None, time_limit: float | None = None
    ) -> tuple[str, NDArray[np.float64] | None]:
        """Solve with the given families on; returns (status, x over columns or None)."""
        n = self.cost.size
        blocks = [(np.ones((1, n)), np.array([self.k]), np.array([self.k]))]
        blocks += [
            self.rows[f]
            for f in ("strata", "province", "region")
            if f in families and f in self.rows
        ]
        if "balance" in families and delta is not None:
            bound = np.full(self.z.shape[1], delta * self.k)
            blocks.append((self.z.T, -bound, bound))
        a = np.vstack([b[0] for b in blocks])
        lower = np.zeros(n)
        if "include" in families:
            lower[self.include_cols] = 1.0
        constraint = LinearConstraint(
            a, np.concatenate([b[1] for b in blocks]), np.concatenate([b[2] for b in blocks])
        )
        bounds = Bounds(lower, np.ones(n))
        options = dict(self.options)
        if time_limit is not None:
            options["time_limit"] = min(time_limit, options.get("time_limit", np.inf))
        # The LP relaxation proves most infeasibility in milliseconds; branch and bound can
        # take the whole time limit to prove the same.
        lp = milp(self.cost, constraints=constraint, bounds=bounds, options=options)
        if lp.status == 2:
            return "infeasible", None
        res = milp(
            self.cost,
            constraints=constraint,
            integrality=np.ones(n),
            bounds=bounds,
            options=options,
        )
        if res.status == 0:
            return "optimal", res.x
        if res.status == 1 and res.x is not None:
            return "time_limit", res.x
        return {1: "time_limit_no_solution", 2: "infeasible"}.get(res.status, "failed"), None

    def diagnose(self, delta: float | None, time_limit: float) -> tuple[str, ...]:
        """Families whose removal alone restores feasibility at this δ (each probe time-boxed)."""
        active = [f for f in FAMILIES if f != "region" or "region" in self.rows]
        found = []
        for family in active:
            if (family == "balance" and delta is None) or (
                family == "include" and self.include_cols.size == 0
            ):
                continue  # dropping an inactive family cannot change anything
            if self.solve(set(active) - {family}, delta, time_limit)[1] is not None:
                found.append(family)
        return tuple(found)


def explain(binding: tuple[str, ...]) -> str:
    """A planner-readable sentence naming the binding constraint families."""
    if not binding:
        return "several constraint families conflict jointly; no single one explains it"
    names = ", ".join(_LABELS[f] for f in binding)
    return f"binding constraint: {names} (dropping it alone makes the problem feasible)"
