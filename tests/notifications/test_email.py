"""Followers' email goes through the outbox to a real SMTP server, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from massline.extensions import db
from massline.notifications.models import OutboxMessage
from massline.tick import run_tick
from tests.factories import PREFECTURE, bearer, make_user
from tests.servers import concurrent_ticks


def _update(client, followers: int) -> None:
    facilitator = bearer(make_user(roles=(("facilitator", PREFECTURE),)))
    process = client.post(
        "/api/v1/processes",
        json={"title": "社区微更新", "description": "说说您的想法", "locality_code": PREFECTURE,
              "template": "vtaiwan"},
        headers=facilitator,
    ).get_json()  # fmt: skip
    for i in range(followers):
        follower = make_user(email=f"resident{i}@example.cn")
        assert (
            client.post(
                f"/api/v1/processes/{process['id']}/follow", headers=bearer(follower)
            ).status_code
            == 201
        )
    client.post(f"/api/v1/processes/{process['id']}/follow", headers=bearer(make_user()))
    posted = client.post(
        f"/api/v1/processes/{process['id']}/updates",
        json={"title": "意见征集开始", "body": "请在两周内对各项观点表态。"},
        headers=facilitator,
    )
    assert posted.status_code == 201


def test_update_reaches_every_follower_once(app, client, smtp):
    _update(client, followers=3)
    now = datetime.now(UTC)
    assert run_tick(db.session, now, app.config)["emails_sent"] == 3
    assert run_tick(db.session, now, app.config)["emails_sent"] == 0
    recipients = sorted(r for rcpts, _ in smtp.received for r in rcpts)
    assert recipients == [f"resident{i}@example.cn" for i in range(3)]
    assert "意见征集开始".encode() in smtp.received[0][1] or b"=?utf-8?" in smtp.received[0][1]
    inapp = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.channel == "inapp").limit(1)
    )
    assert inapp is not None  # the follower without an email still hears of it in the app


def test_refused_first_attempt_is_retried(app, client, smtp):
    _update(client, followers=1)
    smtp.refuse = 1
    now = datetime.now(UTC)
    assert run_tick(db.session, now, app.config)["emails_sent"] == 0
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert message.attempts == 1 and "451" in message.last_error
    assert run_tick(db.session, now, app.config)["emails_sent"] == 1
    assert len(smtp.received) == 1


def test_two_concurrent_ticks_send_each_email_once(app, client, smtp):
    _update(client, followers=6)
    db.session.close()
    results = concurrent_ticks(app, datetime.now(UTC))
    assert sum(r["emails_sent"] for r in results) == 6
    recipients = sorted(r for rcpts, _ in smtp.received for r in rcpts)
    assert recipients == sorted(f"resident{i}@example.cn" for i in range(6))
