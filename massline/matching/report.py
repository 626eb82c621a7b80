"""The stable JSON shape of a match: ranking rows with evidence, portfolio metrics, pairs."""

from __future__ import annotations

import math
from typing import Any

from massline.matching.data import LocalityData
from massline.matching.metrics import PortfolioMetrics
from massline.matching.ranking import Ranking

__all__ = ["comparison_rows", "locality_row", "metrics_dict", "position"]


def comparison_rows(data: LocalityData, found: Any) -> list[dict[str, Any]]:
    """Each pilot's matched comparison place (never in the same prefecture)."""
    if found is None:
        return []
    pairs = []
    for pilot, other, distance in zip(found.pilots, found.comparison, found.distance, strict=True):
        pairs.append(
            {
                "pilot": str(data.codes[pilot]),
                "comparison": None if other < 0 else str(data.codes[other]),
                "comparison_name": None if other < 0 else str(data.names[other]),
                "distance": _finite(distance, 3),
            }
        )
    return pairs


def position(ranking: Ranking, code: str) -> int:
    """Where a locality sits in the ranking's rows."""
    for i, row in enumerate(ranking.rows):
        if row.code == code:
            return i
    raise KeyError(code)


def locality_row(
    row: Any, evidence: dict[str, list[dict]], strata: dict[str, int]
) -> dict[str, Any]:
    """One ranking or portfolio row with its evidence."""

    def number(value: float) -> float | None:
        return None if value is None or not math.isfinite(value) else round(float(value), 6)

    return {
        "code": row.code,
        "name": row.name,
        "rank": row.rank,
        "score": number(row.score),
        "interval": [number(row.lower), number(row.upper)],
        "demand": number(row.demand),
        "supporters": number(row.supporters),
        "assisted_supporters": number(row.assisted_supporters),
        "participants": int(row.participants),
        "population": None if not math.isfinite(row.population) else int(row.population),
        "per_10k": number(row.per_10k),
        "stratum": strata.get(row.code, -1),
        "evidence": evidence.get(row.code, []),
    }


def _finite(value: float, digits: int) -> float | None:
    """A JSON-safe number: NaN and infinities (undefined for tiny sets) become null."""
    return round(float(value), digits) if math.isfinite(value) else None


def metrics_dict(metrics: PortfolioMetrics | None) -> dict[str, Any] | None:
    """A portfolio's metrics as JSON-safe numbers (None for an infeasible portfolio)."""
    if metrics is None:
        return None
    return {
        "size": metrics.size,
        "demand_lift": _finite(metrics.demand_lift, 4),
        "max_smd": _finite(metrics.max_smd, 4),
        "mean_smd": _finite(metrics.mean_smd, 4),
        "b_index": _finite(metrics.b_index, 4),
        "b_percentile": _finite(metrics.b_percentile, 1),
        "provinces": metrics.n_provinces,
        "regions": metrics.n_regions,
    }
