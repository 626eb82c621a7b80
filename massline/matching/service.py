"""Matching from the database: where citizens asked for a central idea, and a fair portfolio.

Relevance comes from the saved index (`massline.matching.store`) or, on a small database
without one, from an exact fit on every call; then only what matches is read (the visible
relevant priorities, their authors and supporters with their homes) beside participant counts
by home. The engine (`massline.matching.engine`) ranks, and the answer takes the stable shape.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import Integer, any_, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from threadpoolctl import ThreadpoolController

from massline.accounts.models import User
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
    weighted_distinct_people,
)
from massline.matching.models import Pilot
from massline.matching.registry import COVARIATE_COLUMNS, build_locality_data
from massline.matching.report import comparison_rows, locality_row, metrics_dict, position
from massline.matching.store.service import count_participants, exact_index, prepare, visible
from massline.priorities.models import Priority, Support
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
    acts = relevant_acts(session, ids)
    n = len(data)
    # Only the people behind relevant priorities are read; participants come pre-counted.
    participants = np.zeros(n)
    for home, people in counts.items():
        if (at := units(home)) >= 0:
            participants[at] += people
    online, assisted = np.zeros(n), np.zeros(n)
    shown = acts.priority_ids
    weight_of = weights[np.searchsorted(ids, shown)] if shown.size else np.zeros(0)
    home_at = np.fromiter(map(units, acts.homes), np.int64, len(acts.homes))
    if (home_at >= 0).any():
        keep = home_at >= 0
        online, assisted = weighted_distinct_people(
            acts.people[keep], acts.rows[keep], home_at[keep], weight_of, n, acts.offline[keep]
        )
    model = BetaBinomialDemand(min_participants=request.min_participants)
    ranking = rank_localities(data, online, participants, assisted, model=model)
    evidence = _evidence(session, acts, weight_of, units)
    return RankedDemand(data, ranking, evidence, relevance)


class _Units:
    """Home or priority locality code → row of the locality containing it (−1: none), cached."""

    def __init__(self, position: dict[str, int], level: str) -> None:
        self.position, self.level, self.seen = position, level, {}

    def position_codes(self) -> list[str]:
        """Locality codes by row."""
        return sorted(self.position, key=self.position.__getitem__)

    def __call__(self, code: str) -> int:
        found = self.seen.get(code)
        if found is None:
            found = self.seen[code] = self.position.get(_unit_of(code, self.level), -1)
        return found


@dataclass(frozen=True, eq=False)
class Acts:
    """Authorship and supports of the visible relevant priorities, in the exact path's order.

    ``rows`` index ``priority_ids`` (the visible relevant priorities, ascending); authors come
    first by priority, then supports by id, so ties between equal weights break as before.
    """

    priority_ids: np.ndarray
    localities: list[str]
    people: np.ndarray
    rows: np.ndarray
    offline: np.ndarray
    homes: list[str]


def relevant_acts(session: Session, ids: np.ndarray) -> Acts:
    """Who wrote and who supported the given priorities that are still visible, with homes."""
    authored = session.execute(
        select(Priority.id, Priority.locality_code, Priority.author_id,
               Priority.entered_by_id.is_not(None))
        .where(_among(session, Priority.id, ids), visible())
        .order_by(Priority.id)
    ).all()  # fmt: skip
    shown = np.fromiter((row[0] for row in authored), np.int64, len(authored))
    supports = session.execute(
        select(Support.id, Support.priority_id, Support.user_id,
               Support.entered_by_id.is_not(None))
        .where(_among(session, Support.priority_id, shown))
    ).all()  # fmt: skip
    supports.sort(key=lambda row: row[0])
    acts = list(chain(authored, supports))
    people = np.fromiter((row[2] for row in acts), np.int64, len(acts))
    # Homes in a query of their own: joined, PostgreSQL hashes the whole users table.
    home_of = dict(
        session.execute(
            select(User.id, User.home_code).where(_among(session, User.id, np.unique(people)))
        ).all()
    )
    support_of = np.fromiter((row[1] for row in supports), np.int64, len(supports))
    return Acts(
        priority_ids=shown,
        localities=[row[1] for row in authored],
        people=people,
        rows=np.concatenate([np.arange(shown.size), np.searchsorted(shown, support_of)]),
        offline=np.fromiter((bool(row[3]) for row in acts), bool, len(acts)),
        homes=[home_of[person] for person in people.tolist()],
    )


def _among(session: Session, column: Any, ids: np.ndarray) -> Any:
    """`column IN ids` as one parameter: an array on PostgreSQL, a JSON list on SQLite."""
    values = [int(i) for i in ids.tolist()]
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, postgresql.ARRAY(Integer)))
    listed = func.json_each(json.dumps(values)).table_valued("value")
    return column.in_(select(listed.c.value))


def match(session: Session, request: MatchRequest) -> dict[str, Any]:
    """Rank localities by relevant demand and choose a representative portfolio."""
    ranked = rank_idea(session, request)
    with _single_blas_thread():
        return _choose(request, ranked)


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


def _evidence(
    session: Session, acts: Acts, weights: np.ndarray, units: _Units
) -> dict[str, list[dict]]:
    """The most relevant priorities of each place (where the priority is), best first."""
    unit = np.fromiter(map(units, acts.localities), np.int64, len(acts.localities))
    # Best first, ties by id; then a stable sort by place keeps that order inside each place.
    best = np.lexsort((acts.priority_ids, -weights))
    best = best[unit[best] >= 0]
    by_place = best[np.argsort(unit[best], kind="stable")]
    place = unit[by_place]
    starts = np.flatnonzero(np.r_[True, place[1:] != place[:-1]]) if place.size else place
    rank = np.arange(place.size) - np.repeat(starts, np.diff(np.r_[starts, place.size]))
    chosen = by_place[rank < EVIDENCE_PER_PLACE]
    titles = dict(
        session.execute(
            select(Priority.id, Priority.title).where(
                _among(session, Priority.id, acts.priority_ids[chosen])
            )
        ).all()
    )
    codes = units.position_codes()
    found: dict[str, list[dict]] = {}
    for i in chosen.tolist():
        priority_id = int(acts.priority_ids[i])
        found.setdefault(codes[unit[i]], []).append(
            {
                "id": priority_id,
                "title": titles[priority_id],
                "relevance": round(float(weights[i]), 3),
            }
        )
    return found
