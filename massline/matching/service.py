"""Matching from the database: where citizens asked for a central idea, and a fair portfolio.

Reads priorities, supports and localities, hands plain arrays to the engine
(`massline.matching.engine`) and turns its answer into the stable JSON shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.localities.models import Locality, code_prefix
from massline.matching.engine import (
    BetaBinomialDemand,
    IdeaRelevance,
    LocalityData,
    PortfolioMetrics,
    PortfolioSelector,
    compare_portfolios,
    match_comparisons,
    rank_localities,
    tradeoff_curve,
    weighted_distinct_people,
)
from massline.matching.models import Pilot
from massline.matching.registry import COVARIATE_COLUMNS, build_locality_data
from massline.priorities.models import PUBLIC_STATUSES, Priority, Support
from massline.text import tokenize

LEVELS = ("province", "prefecture", "county")
EVIDENCE_PER_PLACE = 3


@dataclass(frozen=True)
class MatchRequest:
    """What the planner asks."""

    text: str
    level: str = "county"
    k: int = 10
    max_per_province: int | None = None
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    false_matches: tuple[int, ...] = ()
    top: int = 50
    min_participants: int = 30
    tradeoff: bool = False
    random_state: int = 0


def locality_data(session: Session, level: str) -> LocalityData:
    """The balance covariates of every standard locality at a level."""
    rows = session.scalars(
        select(Locality)
        .where(Locality.level == level, Locality.is_standard.is_(True))
        .order_by(Locality.code)
    ).all()
    # Places already carrying pilots are penalised, so no show-piece site collects them all.
    carrying = dict(
        session.execute(
            select(Pilot.locality_code, func.count(Pilot.id))
            .where(Pilot.status == "designated")
            .group_by(Pilot.locality_code)
        ).all()
    )
    return build_locality_data(
        codes=[r.code for r in rows],
        names=[r.name for r in rows],
        province_codes=[r.province_code for r in rows],
        prefecture_codes=[r.code[:4] for r in rows],
        regions=[r.region or "" for r in rows],
        population=[float(r.population) if r.population else math.nan for r in rows],
        ratios=[[r.covariates.get(c, math.nan) for c in COVARIATE_COLUMNS] for r in rows],
        pilot_counts=[carrying.get(r.code, 0) for r in rows],
    )


def _unit_of(code: str, level: str) -> str:
    """The code of the locality at `level` that contains `code`."""
    return code_prefix(code, level).ljust(6, "0")


def match(session: Session, request: MatchRequest) -> dict[str, Any]:
    """Rank localities by relevant demand and choose a representative portfolio."""
    if request.level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    data = locality_data(session, request.level)
    index = {code: i for i, code in enumerate(data.codes.tolist())}
    priorities = session.execute(
        select(Priority.id, Priority.tokens, Priority.locality_code, Priority.author_id,
               Priority.entered_by_id, Priority.title)
        .where(Priority.status.in_(PUBLIC_STATUSES), Priority.hidden_at.is_(None))
        .order_by(Priority.id)
    ).all()  # fmt: skip
    n = len(data)
    online, assisted, participants = np.zeros(n), np.zeros(n), np.zeros(n)
    weights = np.zeros(len(priorities))
    if priorities:
        relevance = IdeaRelevance().fit(
            [(row.tokens or "").split() for row in priorities], ids=[row.id for row in priorities]
        )
        weights = relevance.weights(tokenize(request.text), exclude=request.false_matches)
        row_of = {row.id: i for i, row in enumerate(priorities)}
        homes = {row.id: row.home_code for row in session.execute(select(User.id, User.home_code))}
        acts = [(row.author_id, row.id, row.entered_by_id is not None) for row in priorities]
        acts += [
            (user_id, priority_id, entered is not None)
            for user_id, priority_id, entered in session.execute(
                select(Support.user_id, Support.priority_id, Support.entered_by_id)
            )
            if priority_id in row_of
        ]
        people = [
            (person, row_of[pid], index[unit], offline)
            for person, pid, offline in acts
            if (unit := _unit_of(homes.get(person, ""), request.level)) in index
        ]
        if people:
            person, prow, loc, off = (np.array(column) for column in zip(*people, strict=True))
            online, assisted = weighted_distinct_people(person, prow, loc, weights, n, off)
            active = {(p, l_) for p, l_ in zip(person.tolist(), loc.tolist(), strict=True)}
            participants = np.bincount([l_ for _p, l_ in active], minlength=n).astype(float)
    model = BetaBinomialDemand(min_participants=request.min_participants)
    ranking = rank_localities(data, online, participants, assisted, model=model)
    selector = PortfolioSelector(
        k=request.k,
        max_per_province=request.max_per_province,
        include=request.include,
        exclude=request.exclude,
        random_state=request.random_state,
    ).fit(data, ranking.score, ranking.eligible)
    table = compare_portfolios(selector, data, ranking.score, ranking.eligible)
    evidence = _evidence(priorities, weights, request.level)
    strata = {code: int(s) for code, s in zip(data.codes.tolist(), selector.strata_, strict=True)}
    rows = [r for r in ranking.rows if r.eligible and r.code not in request.exclude]
    result = selector.result_
    comparisons = match_comparisons(data, result.selected) if result.feasible else None
    extra: dict[str, Any] = {}
    if request.tradeoff:
        extra["tradeoff"] = [
            {
                "delta": point.delta,
                "status": point.result.status,
                "metrics": _metrics(point.metrics),
            }
            for point in tradeoff_curve(selector, data, ranking.score, eligible=ranking.eligible)
        ]
    return {
        **extra,
        "comparisons": _comparisons(data, comparisons),
        "level": request.level,
        "ranking": [_row(r, evidence, strata) for r in rows[: request.top]],
        "portfolio": [
            _row(ranking.rows[_position(ranking, code)], evidence, strata) for code in result.codes
        ],
        "portfolio_status": {
            "status": result.status,
            "message": result.message,
            "delta_requested": result.delta_requested,
            "delta_used": result.delta_used,
            "binding": list(result.binding),
        },
        "metrics": {name: _metrics(m) for name, m in table.items()},
    }


def _comparisons(data: LocalityData, found: Any) -> list[dict[str, Any]]:
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


def _position(ranking: Any, code: str) -> int:
    for i, row in enumerate(ranking.rows):
        if row.code == code:
            return i
    raise KeyError(code)


def _evidence(priorities: list, weights: np.ndarray, level: str) -> dict[str, list[dict]]:
    """The most relevant priorities per locality, best first."""
    found: dict[str, list[dict]] = {}
    for i in np.argsort(-weights, kind="stable"):
        if weights[i] <= 0:
            break
        row = priorities[i]
        unit = _unit_of(row.locality_code, level)
        bucket = found.setdefault(unit, [])
        if len(bucket) < EVIDENCE_PER_PLACE:
            bucket.append(
                {"id": row.id, "title": row.title, "relevance": round(float(weights[i]), 3)}
            )
    return found


def _row(row: Any, evidence: dict[str, list[dict]], strata: dict[str, int]) -> dict[str, Any]:
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


def _metrics(metrics: PortfolioMetrics | None) -> dict[str, Any] | None:
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
