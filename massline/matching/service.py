"""Matching from the database: where citizens asked for a central idea, and a fair portfolio.

Relevance comes from the saved index (`massline.matching.store`) or, on a small database
without one, from an exact fit on every call; then the database is asked only about what
matches (the visible relevant priorities: their distinct people summed by home, and the best
evidence per place) beside participant counts by home. The engine
(`massline.matching.engine`) ranks, and the answer takes the stable shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from threadpoolctl import ThreadpoolController

from massline.localities.models import Locality, code_prefix
from massline.matching.engine import (
    BetaBinomialDemand,
    LocalityData,
    PortfolioSelector,
    Ranking,
    compare_portfolios,
    match_comparisons,
    rank_localities,
    tradeoff_curve,
)
from massline.matching.models import Pilot
from massline.matching.registry import COVARIATE_COLUMNS, build_locality_data
from massline.matching.report import comparison_rows, locality_row, metrics_dict, position
from massline.matching.store.relevant import people_by_home, top_evidence
from massline.matching.store.service import count_participants, exact_index, prepare
from massline.text import tokenize

LEVELS = ("province", "prefecture", "county")


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
    # Plain columns, not entities: 2,850 ORM objects cost more than the whole ranking.
    rows = session.execute(
        select(Locality.code, Locality.name, Locality.province_code, Locality.region,
               Locality.population, Locality.covariates)
        .where(Locality.level == level, Locality.is_standard.is_(True))
        .order_by(Locality.code)
    ).all()  # fmt: skip
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


@dataclass(frozen=True, eq=False)
class RankedDemand:
    """Every locality ranked for one idea, with its evidence and where relevance came from."""

    data: LocalityData
    ranking: Ranking
    evidence: dict[str, list[dict]]
    relevance: dict[str, Any]


def rank_idea(session: Session, request: MatchRequest) -> RankedDemand:
    """Relevant demand per locality from the database: relevance, people, prior, ranking."""
    if request.level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    with _single_blas_thread():
        return _rank_idea(session, request)


def _single_blas_thread() -> Any:
    """BLAS threads buy nothing on vectors of a few thousand and, measured on a loaded 2-core
    machine, make the prior fit five times slower; limit them while matching runs."""
    return _blas().limit(limits=1, user_api="blas")


@cache
def _blas() -> ThreadpoolController:
    """Found once: looking up the loaded BLAS libraries takes milliseconds."""
    return ThreadpoolController()


def _rank_idea(session: Session, request: MatchRequest) -> RankedDemand:
    data = locality_data(session, request.level)
    units = _Units({code: i for i, code in enumerate(data.codes.tolist())}, request.level)
    prepared = prepare(session)
    if prepared is None:
        index, counts = exact_index(session), count_participants(session)
        relevance = {"kind": "exact", "documents": index.n_documents_}
    else:
        index, counts, relevance = prepared.index, prepared.participants, prepared.info
    ids, weights = index.weights(tokenize(request.text), exclude=request.false_matches)
    n = len(data)
    # Participants come pre-counted; of the people behind relevant priorities, only sums.
    participants, online, assisted = np.zeros(n), np.zeros(n), np.zeros(n)
    for home, people in counts.items():
        if (at := units(home)) >= 0:
            participants[at] += people
    for row in people_by_home(session, ids, weights):
        if (at := units(row.home_code)) >= 0:
            (assisted if row.assisted else online)[at] += row.weight
    model = BetaBinomialDemand(min_participants=request.min_participants)
    ranking = rank_localities(data, online, participants, assisted, model=model)
    evidence = {
        code: rows
        for code, rows in top_evidence(session, ids, weights, request.level).items()
        if units(code) >= 0
    }
    return RankedDemand(data, ranking, evidence, relevance)


class _Units:
    """Home or priority locality code → row of the locality containing it (−1: none), cached."""

    def __init__(self, position: dict[str, int], level: str) -> None:
        self.position, self.level, self.seen = position, level, {}

    def __call__(self, code: str) -> int:
        found = self.seen.get(code)
        if found is None:
            found = self.seen[code] = self.position.get(_unit_of(code, self.level), -1)
        return found


def match(session: Session, request: MatchRequest) -> dict[str, Any]:
    """Rank localities by relevant demand and choose a representative portfolio."""
    # The portfolio's costly part, hundreds of small logistic fits for the B yardstick, holds
    # BLAS to one thread itself (massline.matching.metrics).
    return _choose(request, rank_idea(session, request))


def _choose(request: MatchRequest, ranked: RankedDemand) -> dict[str, Any]:
    data, ranking, evidence = ranked.data, ranked.ranking, ranked.evidence
    selector = PortfolioSelector(
        k=request.k,
        max_per_province=request.max_per_province,
        include=request.include,
        exclude=request.exclude,
        random_state=request.random_state,
    ).fit(data, ranking.score, ranking.eligible)
    table = compare_portfolios(selector, data, ranking.score, ranking.eligible)
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
                "metrics": metrics_dict(point.metrics),
            }
            for point in tradeoff_curve(selector, data, ranking.score, eligible=ranking.eligible)
        ]
    return {
        **extra,
        "comparisons": comparison_rows(data, comparisons),
        "level": request.level,
        "ranking": [locality_row(r, evidence, strata) for r in rows[: request.top]],
        "portfolio": [
            locality_row(ranking.rows[position(ranking, code)], evidence, strata)
            for code in result.codes
        ],
        "portfolio_status": {
            "status": result.status,
            "message": result.message,
            "delta_requested": result.delta_requested,
            "delta_used": result.delta_used,
            "binding": list(result.binding),
        },
        "metrics": {name: metrics_dict(m) for name, m in table.items()},
        "relevance": ranked.relevance,
    }
