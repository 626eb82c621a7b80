"""Ask the database only about what matches: relevant people by home, and the best evidence.

Both queries start from the relevant priorities and their weights, sent as one parameter, and
keep those still visible. `people_by_home` does in SQL what `weighted_distinct_people` does
on arrays (each person counts once, with their best relevance: ties go to their first act,
authorship before supports, supports by id), so the answer is a few thousand sums instead of
every support row; tests/matching/reference.py checks it against the engine on both databases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Float, Integer, cast, func, literal, select, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.matching.store.service import visible
from massline.priorities.models import Priority, Support

EVIDENCE_PER_PLACE = 3
# Characters of a locality code naming its unit at each level, padded back to six digits.
_UNIT_DIGITS = {"province": 2, "prefecture": 4, "county": 6}


@dataclass(frozen=True)
class HomeDemand:
    """Relevance summed over the distinct people of one home locality, online or assisted."""

    home_code: str
    assisted: bool
    weight: float
    people: int


def _relevant(session: Session, ids: np.ndarray, weights: np.ndarray) -> Any:
    """The visible relevant priorities with their weight ``w`` (a materialised CTE)."""
    if session.get_bind().dialect.name == "postgresql":
        pairs = func.unnest(
            literal(ids.tolist(), postgresql.ARRAY(Integer)),
            literal(weights.tolist(), postgresql.ARRAY(Float)),
        ).table_valued("id", "w").render_derived(name="pairs")  # fmt: skip
        source = select(pairs.c.id, pairs.c.w).subquery("relevance")
    else:
        listed = func.json_each(
            json.dumps([[int(i), float(w)] for i, w in zip(ids, weights, strict=True)])
        )
        value = listed.table_valued("value").c.value
        source = select(
            cast(func.json_extract(value, "$[0]"), Integer).label("id"),
            cast(func.json_extract(value, "$[1]"), Float).label("w"),
        ).subquery("relevance")
    return (
        select(Priority.id, Priority.author_id, Priority.locality_code, Priority.title,
               Priority.entered_by_id.is_not(None).label("assisted"), source.c.w)
        .join(source, source.c.id == Priority.id)
        .where(visible())
        .cte("visible_relevant")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip


def people_by_home(session: Session, ids: np.ndarray, weights: np.ndarray) -> list[HomeDemand]:
    """Each distinct author or supporter of the visible relevant priorities, counted once at
    their best weight, summed by home locality and by whether that act was assisted."""
    if ids.size == 0:
        return []
    relevant = _relevant(session, ids, weights)
    acts = union_all(
        select(relevant.c.author_id.label("person"), relevant.c.w, relevant.c.assisted,
               literal(0).label("kind"), relevant.c.id.label("position")),
        select(Support.user_id, relevant.c.w, Support.entered_by_id.is_not(None),
               literal(1), Support.id)
        .join(relevant, relevant.c.id == Support.priority_id),
    ).subquery("acts")  # fmt: skip
    ranked = select(
        acts,
        func.row_number()
        .over(partition_by=acts.c.person, order_by=(acts.c.w.desc(), acts.c.kind, acts.c.position))
        .label("choice"),
    ).subquery("ranked")
    rows = session.execute(
        select(User.home_code, ranked.c.assisted, func.sum(ranked.c.w), func.count())
        .join(ranked, ranked.c.person == User.id)
        .where(ranked.c.choice == 1)
        .group_by(User.home_code, ranked.c.assisted)
    )
    return [HomeDemand(code, bool(assisted), float(w), int(n)) for code, assisted, w, n in rows]


def top_evidence(
    session: Session, ids: np.ndarray, weights: np.ndarray, level: str
) -> dict[str, list[dict]]:
    """The most relevant visible priorities of each unit at `level` (where the priority is),
    best first, ties by id."""
    if ids.size == 0:
        return {}
    relevant = _relevant(session, ids, weights)
    digits = _UNIT_DIGITS[level]
    unit = relevant.c.locality_code
    if digits < 6:
        unit = func.substr(unit, 1, digits).concat("0" * (6 - digits))
    ranked = select(
        relevant.c.id, relevant.c.title, relevant.c.w, unit.label("unit"),
        func.row_number()
        .over(partition_by=unit, order_by=(relevant.c.w.desc(), relevant.c.id))
        .label("choice"),
    ).subquery("ranked")  # fmt: skip
    found: dict[str, list[dict]] = {}
    for row in session.execute(
        select(ranked.c.id, ranked.c.title, ranked.c.w, ranked.c.unit)
        .where(ranked.c.choice <= EVIDENCE_PER_PLACE)
        .order_by(ranked.c.unit, ranked.c.choice)
    ):
        found.setdefault(row.unit, []).append(
            {"id": row.id, "title": row.title, "relevance": round(float(row.w), 3)}
        )
    return found
