"""The computation `match` made before the saved index, kept to check the fast path against.

`reference` reads every priority, user and support and fits TF-IDF on every call, as
`massline.matching.service.match` did; `assert_same` compares `rank_idea` with it.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from massline.accounts.models import User
from massline.extensions import db
from massline.matching.engine import (
    BetaBinomialDemand,
    IdeaRelevance,
    rank_localities,
    weighted_distinct_people,
)
from massline.matching.service import (
    MatchRequest,
    RankedDemand,
    _unit_of,
    locality_data,
    rank_idea,
)
from massline.models_common import utcnow
from massline.priorities.models import PUBLIC_STATUSES, Priority, Support
from massline.priorities.schemas import PriorityInput
from massline.priorities.service import ThresholdRule, create_priority, support
from massline.text import tokenize
from tests.factories import HOME, NEIGHBOUR, PREFECTURE, make_priority, make_user

IDEA = "老旧小区加装电梯，方便老人上下楼"
YUELU, KAIFU = "430104", "430105"
TEXTS = [
    ("老旧小区加装电梯", "我们小区都是老人，希望加装电梯，方便上下楼。"),
    ("希望给老楼装电梯", "老楼没有电梯，老人上下楼很辛苦，希望加装电梯。"),
    ("电梯经常坏", "小区电梯经常故障，物业不修，老人被困过两次。"),
    ("公园里增加健身器材", "公园健身器材太少，希望多装一些，方便锻炼身体。"),
    ("学校门口交通拥堵", "上学放学时间学校门口拥堵严重，希望增加交警疏导。"),
    ("小区停车难", "小区车位太少，晚上停车很难，希望规划更多停车位。"),
]


def reference(request: MatchRequest, fitted_on: list[str] | None = None):
    """The computation `match` made before the index: read everything, fit on every call.

    With `fitted_on` (token strings), TF-IDF is fitted on those texts instead and applied to
    the current priorities: what an index fitted then and extended since must give.
    """
    session = db.session
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
    docs = [(row.tokens or "").split() for row in priorities]
    relevance = IdeaRelevance().fit(
        docs if fitted_on is None else [(t or "").split() for t in fitted_on]
    )
    vectorizer = relevance.vectorizer_
    sim = vectorizer.transform(docs) @ vectorizer.transform([tokenize(request.text)]).T
    weights = sim.toarray().ravel()
    weights = np.where(weights >= relevance.threshold, weights, 0.0)
    weights[[row.id in request.false_matches for row in priorities]] = 0.0
    row_of = {row.id: i for i, row in enumerate(priorities)}
    homes = {row.id: row.home_code for row in session.execute(select(User.id, User.home_code))}
    acts = [(row.author_id, row.id, row.entered_by_id is not None) for row in priorities]
    acts += [
        (user_id, priority_id, entered is not None)
        for user_id, priority_id, entered in session.execute(
            select(Support.user_id, Support.priority_id, Support.entered_by_id).order_by(Support.id)
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
    evidence: dict[str, list[dict]] = {}
    for i in np.argsort(-weights, kind="stable"):
        if weights[i] <= 0:
            break
        row = priorities[i]
        bucket = evidence.setdefault(_unit_of(row.locality_code, request.level), [])
        if len(bucket) < 3:
            bucket.append(
                {"id": row.id, "title": row.title, "relevance": round(float(weights[i]), 3)}
            )
    return ranking, {code: rows for code, rows in evidence.items() if code in index}


def assert_same(request: MatchRequest, fitted_on: list[str] | None = None) -> dict:
    """The fast path's ranking, evidence and counts equal the reference's; returns its info."""
    ranked = rank_idea(db.session, request)
    want, evidence = reference(request, fitted_on)
    assert [r.code for r in ranked.ranking.rows] == [r.code for r in want.rows]
    for got, expected in zip(ranked.ranking.rows, want.rows, strict=True):
        assert got.rank == expected.rank and got.participants == expected.participants
        for name in ("score", "lower", "upper", "supporters", "assisted_supporters", "demand"):
            assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-9)
    assert ranked.evidence.keys() == evidence.keys()
    for code, rows in evidence.items():
        assert [(r["id"], r["title"]) for r in ranked.evidence[code]] == [
            (r["id"], r["title"]) for r in rows
        ]
        for got, expected in zip(ranked.evidence[code], rows, strict=True):
            assert got["relevance"] == pytest.approx(expected["relevance"], abs=1e-3)
    return ranked.relevance


def seed() -> dict[str, object]:
    """Five places asking for different things: authors, supporters, assisted entries, people
    who back several priorities, a prefecture-wide priority and ones that must never count."""
    worker = make_user(home_code=PREFECTURE, roles=(("community_worker", PREFECTURE),))
    places = [HOME, NEIGHBOUR, HOME, KAIFU, YUELU, NEIGHBOUR]
    priorities = []
    for i, ((title, body), place) in enumerate(zip(TEXTS, places, strict=True)):
        author = make_user(home_code=place)
        if i == 1:  # a paper form a community worker typed in
            priorities.append(create_priority(
                db.session, author, PriorityInput(title, body, place, category=None, draft=False),
                rule=ThresholdRule(rate=0.0, floor=3), entered_by=worker,
            ))  # fmt: skip
        else:
            priorities.append(make_priority(author=author, title=title, body=body))
        for j in range(3 + 2 * i):
            entered = worker if j % 4 == 1 else None
            support(db.session, priorities[-1].id, make_user(home_code=place), entered_by=entered)
    # The first author and a fan back other lift priorities too: each counts once, at best.
    fan = make_user(home_code=HOME)
    support(db.session, priorities[2].id, priorities[0].author)
    support(db.session, priorities[2].id, fan, entered_by=worker)
    support(db.session, priorities[0].id, fan)
    # A priority for the whole prefecture: its people count, no county shows it as evidence;
    # someone whose home is the prefecture itself belongs to no county.
    city = make_priority(
        author=make_user(home_code=PREFECTURE),
        title="全市老旧小区加装电梯",
        body="希望全市推进老旧小区加装电梯。",
        locality_code=PREFECTURE,
    )
    support(db.session, city.id, fan)
    # Equal weights: twins with one text. Who backs both counts as online or assisted by their
    # first act: authorship before supports, then supports in the order they were made.
    twin_a = make_priority(author=make_user(home_code=HOME), title="加装电梯吧", body="电梯")
    twin_author = make_user(home_code=HOME)
    twin = PriorityInput("加装电梯吧", "电梯", HOME, category=None, draft=False)
    rule = ThresholdRule(rate=0.0, floor=3)
    twin_b = create_priority(db.session, twin_author, twin, rule=rule, entered_by=worker)
    both = make_user(home_code=HOME)
    support(db.session, twin_b.id, both, entered_by=worker)
    support(db.session, twin_a.id, both)
    support(db.session, twin_a.id, twin_author)
    never = []
    for status in ("retired", "archived", "draft", "hidden"):
        found = make_priority(author=make_user(home_code=KAIFU), title="加装电梯", body="电梯电梯")
        support(db.session, found.id, make_user(home_code=KAIFU))
        if status == "hidden":
            found.hidden_at = utcnow()
        else:
            found.status = status
        never.append(found)
    db.session.commit()
    return {"worker": worker, "priorities": priorities, "never": never, "city": city}


REQUEST = MatchRequest(IDEA, min_participants=3)


def stored_tokens() -> list[str]:
    """Token strings of the visible public priorities now (what a fit would see)."""
    return [
        row.tokens
        for row in db.session.execute(
            select(Priority.tokens)
            .where(Priority.status.in_(PUBLIC_STATUSES), Priority.hidden_at.is_(None))
            .order_by(Priority.id)
        )
    ]


def evidence_ids(ranked: RankedDemand) -> set[int]:
    """Every priority shown as evidence anywhere."""
    return {row["id"] for rows in ranked.evidence.values() for row in rows}
