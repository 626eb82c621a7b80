"""Merging duplicates: a facilitator proposes, the author consents, supports never move."""

from __future__ import annotations

from sqlalchemy import func, select

from massline.extensions import db
from massline.notifications.models import OutboxMessage
from massline.priorities.models import MergeProposal, Priority, Support
from massline.priorities.service import support
from tests.factories import ELSEWHERE, HOME, PREFECTURE, bearer, make_priority, make_user, sign_in


def duplicate_pair():
    original = make_priority(title="芙蓉区某小区路灯长期不亮")
    duplicate = make_priority(title="小区路灯坏了没人修")
    fan = make_user()
    support(db.session, duplicate.id, fan)
    db.session.commit()
    return original, duplicate, fan


def test_accepted_merge_links_both_ways_and_keeps_supports(app, client):
    original, duplicate, fan = duplicate_pair()
    facilitator = make_user(roles=(("facilitator", PREFECTURE),))
    proposed = client.post(
        f"/api/v1/priorities/{duplicate.id}/merge",
        json={"target_id": original.id, "reason": "同一处路灯"},
        headers=bearer(facilitator),
    )
    assert proposed.status_code == 201
    again = client.post(
        f"/api/v1/priorities/{duplicate.id}/merge",
        json={"target_id": original.id},
        headers=bearer(facilitator),
    )
    assert again.status_code == 409
    proposal_id = proposed.get_json()["id"]
    # Only the duplicate's author decides.
    stranger = client.post(f"/api/v1/merges/{proposal_id}/accept", headers=bearer(fan))
    assert stranger.status_code == 403
    accepted = client.post(f"/api/v1/merges/{proposal_id}/accept", headers=bearer(duplicate.author))
    assert accepted.status_code == 200 and accepted.get_json()["accepted"] is True
    assert (
        client.post(
            f"/api/v1/merges/{proposal_id}/decline", headers=bearer(duplicate.author)
        ).status_code
        == 409
    )

    db.session.expire_all()
    merged = db.session.get(Priority, duplicate.id)
    assert (merged.status, merged.retire_reason, merged.merged_into_id) == (
        "retired", "duplicate", original.id,
    )  # fmt: skip
    # Supports stay where they were given: nothing moved silently.
    assert merged.supports_count == 1
    assert db.session.get(Priority, original.id).supports_count == 0
    assert db.session.scalar(select(Support.priority_id)) == duplicate.id
    told = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.user_id == fan.id))
    assert any("已合并" in body for body in told)

    assert original.title in client.get(f"/priorities/{duplicate.id}").get_data(as_text=True)
    page = client.get(f"/priorities/{original.id}").get_data(as_text=True)
    assert 'id="merged-from"' in page and duplicate.title in page


def test_declined_merge_changes_nothing(app, client):
    original, duplicate, _fan = duplicate_pair()
    facilitator = make_user(roles=(("facilitator", HOME),))
    proposal_id = client.post(
        f"/api/v1/priorities/{duplicate.id}/merge",
        json={"target_id": original.id},
        headers=bearer(facilitator),
    ).get_json()["id"]
    token = sign_in(client, duplicate.author)
    page = client.get(f"/priorities/{duplicate.id}").get_data(as_text=True)
    assert 'id="merge-proposal"' in page
    client.post(f"/merges/{proposal_id}", data={"decision": "decline", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Priority, duplicate.id).status == "published"
    assert db.session.get(MergeProposal, proposal_id).accepted is False


def test_merge_refusals(app, client):
    original, duplicate, fan = duplicate_pair()
    facilitator = bearer(make_user(roles=(("facilitator", HOME),)))
    elsewhere = make_priority(author=make_user(home_code=ELSEWHERE))
    cases = [
        (bearer(fan), duplicate.id, {"target_id": original.id}, 403),  # not a facilitator
        (bearer(make_user(home_code=ELSEWHERE, roles=(("facilitator", ELSEWHERE),))),
         duplicate.id, {"target_id": original.id}, 403),  # out of scope
        (facilitator, duplicate.id, {"target_id": duplicate.id}, 422),  # itself
        (facilitator, duplicate.id, {"target_id": elsewhere.id}, 422),  # does not cover it
        (facilitator, duplicate.id, {"target_id": 999_999}, 404),
        (facilitator, duplicate.id, {"target_id": "x"}, 422),
        (facilitator, duplicate.id, {}, 422),
    ]  # fmt: skip
    for headers, source, payload, status in cases:
        response = client.post(f"/api/v1/priorities/{source}/merge", json=payload, headers=headers)
        assert response.status_code == status, (payload, response.get_json())
    assert db.session.scalar(select(func.count(MergeProposal.id))) == 0
    assert client.post("/api/v1/merges/12345/accept", headers=facilitator).status_code == 404
