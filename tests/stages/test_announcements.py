"""Every stage change is announced to the followers once: in the app and by email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from massline.extensions import db
from massline.notifications.digest import CHINA
from massline.notifications.models import OutboxMessage
from massline.stages.models import StageChange
from massline.tick import run_tick
from tests.factories import PREFECTURE, bearer, make_user, row_counts
from tests.notifications.test_digest import by_recipient
from tests.servers import concurrent_ticks

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # proposal ends 01-19, opinion 02-02 (09:00 Beijing)


def followed(client, *, starts_at: datetime, followers: int = 2) -> tuple[int, dict]:
    """A vtaiwan process in 长沙市 with followers who gave an email (and one who did not)."""
    facilitator = bearer(make_user(roles=(("facilitator", PREFECTURE),)))
    made = client.post(
        "/api/v1/processes",
        json={"title": "社区微更新", "description": "说说您的想法", "locality_code": PREFECTURE,
              "template": "vtaiwan", "starts_at": starts_at.isoformat()},
        headers=facilitator,
    )  # fmt: skip
    pid = made.get_json()["id"]
    people = [make_user(email=f"resident{i}@example.cn") for i in range(followers)]
    for person in [*people, make_user()]:
        assert (
            client.post(f"/api/v1/processes/{pid}/follow", headers=bearer(person)).status_code
            == 201
        )
    return pid, facilitator


def announcements() -> list[str]:
    """The bodies of the in-app announcements, oldest first (one per follower and change)."""
    query = select(OutboxMessage.body).where(OutboxMessage.channel == "inapp")
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def beijing(iso: str) -> str:
    """An API timestamp as the announcements write it."""
    return datetime.fromisoformat(iso).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def test_facilitator_advance_and_extend_are_announced_once(app, client, smtp):
    pid, facilitator = followed(client, starts_at=datetime.now(UTC))
    moved = client.post(
        f"/api/v1/processes/{pid}/advance", json={"reason": "提前进入意见征集"}, headers=facilitator
    ).get_json()
    told = announcements()
    assert len(told) == 3 and len(set(told)) == 1
    until = beijing(moved["stages"][1]["ends_at"])
    assert all(part in told[0] for part in ("社区微更新", "意见征集", until, "提前进入意见征集"))

    extended = client.post(
        f"/api/v1/processes/{pid}/extend", json={"days": 3, "reason": "春节"}, headers=facilitator
    ).get_json()
    told = announcements()
    assert len(told) == 6
    new_end = beijing(extended["stages"][1]["ends_at"])
    assert (
        new_end != until and new_end in told[-1] and "意见征集" in told[-1] and "春节" in told[-1]
    )

    now = datetime.now(UTC)
    assert run_tick(db.session, now, app.config)["emails_sent"] == 4
    assert run_tick(db.session, now, app.config)["emails_sent"] == 0
    mail = by_recipient(smtp)
    assert sorted(mail) == ["resident0@example.cn", "resident1@example.cn"]
    subjects = [subject for subject, _ in mail["resident0@example.cn"]]
    assert len(subjects) == 2 and all(s.startswith("【社区微更新】") for s in subjects)
    assert (
        until in mail["resident0@example.cn"][0][1]
        and new_end in mail["resident1@example.cn"][1][1]
    )
    assert len(announcements()) == 6  # the ticks added nothing: no stage had ended


def test_refused_changes_announce_nothing(app, client):
    pid, facilitator = followed(client, starts_at=datetime.now(UTC))
    citizen = bearer(make_user())
    before = row_counts()
    assert client.post(f"/api/v1/processes/{pid}/advance", headers=citizen).status_code == 403
    for bad in ({"days": 0}, {"days": "many"}, {"days": 10**12}, {}):
        assert (
            client.post(
                f"/api/v1/processes/{pid}/extend", json=bad, headers=facilitator
            ).status_code
            == 422
        )
    assert (
        client.post(
            f"/api/v1/processes/{pid}/extend", json={"days": 2}, headers=citizen
        ).status_code
        == 403
    )
    assert client.post("/api/v1/processes/999999/advance", headers=facilitator).status_code == 404
    assert row_counts() == before
    for _ in range(3):
        assert (
            client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator).status_code == 200
        )
    after_moves = row_counts()
    assert client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator).status_code == 409
    assert row_counts() == after_moves and len(announcements()) == 3 * 3


def test_tick_announces_each_move_on_its_date_once(app, client, smtp):
    pid, _ = followed(client, starts_at=START)
    assert run_tick(db.session, START + timedelta(days=13), app.config)["stages_advanced"] == 0
    assert announcements() == []
    first = run_tick(db.session, START + timedelta(days=14, minutes=1), app.config)
    assert (first["stages_advanced"], first["emails_sent"]) == (1, 2)
    told = announcements()
    assert len(told) == 3 and "意见征集" in told[0] and "2026-02-02 09:00" in told[0]
    again = run_tick(db.session, START + timedelta(days=14, minutes=2), app.config)
    assert (again["stages_advanced"], again["emails_sent"]) == (0, 0)
    assert len(announcements()) == 3

    # Down for weeks: two moves in one tick, one announcement of the stage it is in now.
    late = run_tick(db.session, START + timedelta(days=40), app.config)
    assert late["stages_advanced"] == 2
    told = announcements()
    assert len(told) == 6 and "决定与答复" in told[-1] and "讨论反思" not in told[-1]
    assert len(smtp.received) == 4
    moves = select(func.count(StageChange.id)).where(StageChange.process_id == pid)
    assert db.session.scalar(moves) == 3


def test_two_concurrent_ticks_move_and_announce_once(app, client, smtp):
    pid, _ = followed(client, starts_at=START, followers=4)
    db.session.close()
    results = concurrent_ticks(app, START + timedelta(days=14, minutes=1))
    assert sum(r["stages_advanced"] for r in results) == 1
    assert sum(r["emails_sent"] for r in results) == 4
    assert len(announcements()) == 5
    recipients = sorted(r for rcpts, _ in smtp.received for r in rcpts)
    assert recipients == [f"resident{i}@example.cn" for i in range(4)]
    moves = select(func.count(StageChange.id)).where(StageChange.process_id == pid)
    assert db.session.scalar(moves) == 1
