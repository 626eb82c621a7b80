"""Matching through the saved index gives the answers of the exact computation it replaced."""

from __future__ import annotations

from datetime import timedelta

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
from massline.matching.service import MatchRequest, _unit_of, locality_data, rank_idea
from massline.matching.store import service as store
from massline.matching.store.models import RelevanceIndexPart, RelevanceIndexRecord
from massline.models_common import utcnow
from massline.priorities.models import PUBLIC_STATUSES, Priority, Support
from massline.priorities.schemas import PriorityInput
from massline.priorities.service import ThresholdRule, create_priority, support
from massline.text import tokenize
from massline.tick import run_tick
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


def test_exact_path_equals_the_reference(app):
    seed()
    info = assert_same(REQUEST)
    assert info["kind"] == "exact"
    assert_same(MatchRequest(IDEA, level="prefecture", min_participants=3))


def test_saved_index_equals_the_reference_and_false_matches_are_left_out(app):
    made = seed()
    store.build_index(db.session)
    db.session.commit()
    info = assert_same(REQUEST)
    assert info["kind"] == "index" and info["added_since_fit"] == 0
    first_lift = made["priorities"][0].id
    assert_same(MatchRequest(IDEA, min_participants=3, false_matches=(first_lift,)))
    ranked = rank_idea(db.session, REQUEST)
    top = next(r for r in ranked.ranking.rows if r.code == HOME)
    assert [e["title"] for e in ranked.evidence[HOME]][0] == "老旧小区加装电梯"
    assert top.supporters > 0 and top.assisted_supporters > 0


def test_index_read_back_in_a_new_process_in_several_parts(app, monkeypatch):
    seed()
    monkeypatch.setattr(store, "PART_BYTES", 1000)
    record = store.build_index(db.session)
    db.session.commit()
    parts = db.session.scalars(
        select(RelevanceIndexPart.position).where(RelevanceIndexPart.index_id == record.id)
    ).all()
    assert record.parts == len(parts) > 1
    store._cache.clear()
    info = assert_same(REQUEST)
    assert info["loaded_now"] is True


def test_new_priorities_count_at_once_under_the_fitted_vocabulary(app):
    seed()
    record = store.build_index(db.session)
    db.session.commit()
    fitted = stored_tokens()
    assert_same(REQUEST)  # loads the index into this process
    late = make_priority(author=make_user(home_code=YUELU), title="楼里装电梯", body="老人上楼难")
    for _ in range(4):
        support(db.session, late.id, make_user(home_code=YUELU))
    drone = make_priority(author=make_user(home_code=YUELU), title="无人机扰民", body="无人机")
    db.session.commit()
    store.refresh_participants(db.session, record)
    info = assert_same(REQUEST, fitted_on=fitted)
    assert info["added_since_fit"] == 2
    ranked = rank_idea(db.session, REQUEST)
    assert late.id in [e["id"] for e in ranked.evidence[YUELU]]
    # A word the fit never saw finds nothing until the next fit, then it does.
    drones = MatchRequest("无人机", min_participants=1)
    assert drone.id not in _evidence_ids(rank_idea(db.session, drones))
    store.build_index(db.session)
    db.session.commit()
    assert drone.id in _evidence_ids(assert_same_and_rank(drones))


def assert_same_and_rank(request: MatchRequest):
    """assert_same, then the ranking itself."""
    assert_same(request)
    return rank_idea(db.session, request)


def _evidence_ids(ranked) -> set[int]:  # noqa: ANN001
    return {row["id"] for rows in ranked.evidence.values() for row in rows}


def test_hidden_and_retired_stop_counting_without_a_refit(app):
    made = seed()
    record = store.build_index(db.session)
    db.session.commit()
    fitted = stored_tokens()
    lifts = made["priorities"][:3]
    lifts[0].hidden_at = utcnow()
    lifts[1].status = "retired"
    db.session.commit()
    store.refresh_participants(db.session, record)
    assert_same(REQUEST, fitted_on=fitted)
    assert not {lifts[0].id, lifts[1].id} & _evidence_ids(rank_idea(db.session, REQUEST))
    # Brought back by a moderator: it counts again at once (it was kept in the index).
    lifts[0].hidden_at = None
    db.session.commit()
    assert lifts[0].id in _evidence_ids(rank_idea(db.session, REQUEST))


def test_participant_counts_are_a_snapshot_that_tick_refreshes(app):
    made = seed()
    record = store.build_index(db.session)
    db.session.commit()
    before = {r.code: r.participants for r in rank_idea(db.session, REQUEST).ranking.rows}
    parks = made["priorities"][3]
    for _ in range(5):
        support(db.session, parks.id, make_user(home_code=KAIFU))
    db.session.commit()
    after = {r.code: r.participants for r in rank_idea(db.session, REQUEST).ranking.rows}
    assert after == before  # the denominators wait for the refresh
    fitted_at, counted_at = record.fitted_at, record.participants_at
    done = run_tick(db.session, utcnow(), app.config)
    assert done["matching_refreshed"] == 1
    record = store.current_record(db.session)
    assert record.fitted_at == fitted_at and record.participants_at > counted_at
    after = {r.code: r.participants for r in rank_idea(db.session, REQUEST).ranking.rows}
    assert after[KAIFU] == before[KAIFU] + 5
    assert_same(REQUEST)


def test_tick_builds_past_the_threshold_and_refits_when_grown_or_old(app, monkeypatch):
    seed()
    now = utcnow()
    assert store.refresh(db.session, now) == 0  # a small database stays exact
    assert store.current_record(db.session) is None
    monkeypatch.setattr(store, "INDEX_MIN", 5)
    assert store.refresh(db.session, now) == 1
    first = store.current_record(db.session)
    key, documents = first.key, first.documents
    store.refresh(db.session, now)
    assert store.current_record(db.session).key == key  # nothing new: counts only
    make_priority(author=make_user(), title="加装电梯", body="电梯")
    store.refresh(db.session, now)
    grown = store.current_record(db.session)
    assert grown.key != key and grown.documents == documents + 1  # more than a tenth
    store.refresh(db.session, grown.fitted_at + store.REFIT_AGE)
    assert store.current_record(db.session).key != grown.key
    assert db.session.scalar(select(db.func.count()).select_from(RelevanceIndexRecord)) == 1
    assert_same(REQUEST)


def test_the_command_builds_the_index(app):
    seed()
    result = app.test_cli_runner().invoke(args=["matching", "index"])
    assert result.exit_code == 0, result.output
    record = store.current_record(db.session)
    assert record is not None and f"{record.documents}" in result.output
    assert_same(REQUEST)


def test_drafts_published_later_count_even_when_committed_late(app):
    """A draft from before the fit is found when published, also if its publication was
    stamped a little before the last check but committed after it."""
    seed()
    draft = make_priority(
        author=make_user(home_code=YUELU), title="加装电梯", body="电梯老人", draft=True
    )
    store.build_index(db.session)
    db.session.commit()
    assert draft.id not in _evidence_ids(rank_idea(db.session, REQUEST))
    draft.status, draft.published_at = "published", utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert draft.id in _evidence_ids(rank_idea(db.session, REQUEST))
