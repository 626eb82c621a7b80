"""Matching through the saved index gives the answers of the exact computation it replaced."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from massline.extensions import db
from massline.matching.service import MatchRequest, rank_idea
from massline.matching.store import service as store
from massline.matching.store.models import RelevanceIndexPart, RelevanceIndexRecord
from massline.models_common import utcnow
from massline.priorities.service import support
from massline.tick import run_tick
from tests.factories import HOME, make_priority, make_user

from .reference import IDEA, KAIFU, REQUEST, YUELU, assert_same, evidence_ids, seed, stored_tokens


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
    assert drone.id not in evidence_ids(rank_idea(db.session, drones))
    store.build_index(db.session)
    db.session.commit()
    assert_same(drones)
    assert drone.id in evidence_ids(rank_idea(db.session, drones))


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
    assert not {lifts[0].id, lifts[1].id} & evidence_ids(rank_idea(db.session, REQUEST))
    # Brought back by a moderator: it counts again at once (it was kept in the index).
    lifts[0].hidden_at = None
    db.session.commit()
    assert lifts[0].id in evidence_ids(rank_idea(db.session, REQUEST))


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
    assert draft.id not in evidence_ids(rank_idea(db.session, REQUEST))
    draft.status, draft.published_at = "published", utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert draft.id in evidence_ids(rank_idea(db.session, REQUEST))


def test_an_index_replaced_while_read_is_read_again(app, monkeypatch):
    seed()
    stale = store.build_index(db.session)
    db.session.commit()
    stale_id, stale_key, stale_size = stale.id, stale.key, stale.size_bytes
    store.build_index(db.session)  # replaces (deletes) the first one
    db.session.commit()
    store._cache.clear()
    replaced = RelevanceIndexRecord(id=stale_id, key=stale_key, size_bytes=stale_size)
    reads = iter([replaced])
    real = store.current_record
    monkeypatch.setattr(store, "current_record", lambda s: next(reads, None) or real(s))
    info = assert_same(REQUEST)
    assert info["loaded_now"] is True and stale_key not in store._cache
