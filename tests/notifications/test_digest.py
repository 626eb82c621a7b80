"""Daily digests: one email a day with everything new, sent once through a real SMTP server."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from massline.accounts.models import User
from massline.extensions import db
from massline.notifications.digest import CHINA, digest_cutoff
from massline.notifications.models import OutboxMessage
from massline.tick import run_tick
from tests.factories import PREFECTURE, bearer, make_user, row_counts, sign_in
from tests.servers import concurrent_ticks

UPDATES = [
    ("意见征集开始", "请在两周内对各项观点表态。"),
    ("线下议事会", "周六上午九点在社区活动中心。"),
]


def read_mail(content: bytes) -> tuple[str, str]:
    """The decoded subject and text of a received email."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    return str(message["Subject"]), message.get_content()


def by_recipient(inbox) -> dict[str, list[tuple[str, str]]]:
    """What each address received, in order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for recipients, content in inbox.received:
        for recipient in recipients:
            found.setdefault(recipient, []).append(read_mail(content))
    return found


def digest_user(**overrides) -> User:
    """A user who chose one email a day."""
    user = make_user(**overrides)
    user.email_digest = True
    db.session.commit()
    return user


def followed_process(client, *, digest: int, each: int, updates=UPDATES) -> tuple[int, dict]:
    """A process with `digest` followers on daily digests and `each` on one email per update."""
    facilitator = bearer(make_user(roles=(("facilitator", PREFECTURE),)))
    process = client.post(
        "/api/v1/processes",
        json={"title": "社区微更新", "description": "说说您的想法", "locality_code": PREFECTURE,
              "template": "vtaiwan"},
        headers=facilitator,
    ).get_json()  # fmt: skip
    followers = [digest_user(email=f"daily{i}@example.cn") for i in range(digest)]
    followers += [make_user(email=f"each{i}@example.cn") for i in range(each)]
    followers.append(digest_user())  # chose digests but gave no address
    for follower in followers:
        followed = client.post(
            f"/api/v1/processes/{process['id']}/follow", headers=bearer(follower)
        )
        assert followed.status_code == 201
    for title, body in updates:
        posted = client.post(
            f"/api/v1/processes/{process['id']}/updates",
            json={"title": title, "body": body},
            headers=facilitator,
        )
        assert posted.status_code == 201
    return process["id"], facilitator


def test_digest_day_starts_at_the_configured_hour_beijing_time():
    before = datetime(2026, 3, 2, 6, 59, tzinfo=CHINA)
    at = datetime(2026, 3, 2, 7, 0, tzinfo=CHINA)
    assert digest_cutoff(before, 7) == datetime(2026, 3, 1, 7, 0, tzinfo=CHINA)
    assert digest_cutoff(at, 7) == at
    assert digest_cutoff(at.astimezone(UTC), 0) == datetime(2026, 3, 2, 0, 0, tzinfo=CHINA)


def test_digest_user_gets_one_email_a_day_with_everything_new(app, client, smtp):
    pid, facilitator = followed_process(client, digest=1, each=1)
    advanced = client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)
    assert advanced.status_code == 200
    now = datetime.now(UTC)
    today = run_tick(db.session, now, app.config)
    assert today["digests_composed"] == 0  # the day is not over yet
    assert today["emails_sent"] == 3
    mail = by_recipient(smtp)
    assert list(mail) == ["each0@example.cn"]
    assert [subject for subject, _ in mail["each0@example.cn"]][:2] == [
        "【社区微更新】意见征集开始",
        "【社区微更新】线下议事会",
    ]

    tomorrow = digest_cutoff(now, 7) + timedelta(days=1, minutes=5)
    done = run_tick(db.session, tomorrow, app.config)
    assert (done["digests_composed"], done["emails_sent"]) == (1, 1)
    assert run_tick(db.session, tomorrow + timedelta(hours=1), app.config)["emails_sent"] == 0
    digests = by_recipient(smtp)["daily0@example.cn"]
    assert len(digests) == 1
    subject, text = digests[0]
    assert "3" in subject
    per_update = [s for s, _ in mail["each0@example.cn"]]
    positions = [text.index(s) for s in per_update]
    assert positions == sorted(positions)  # every update, oldest first
    assert all(body in text for _, body in UPDATES) and "意见征集" in text

    # In the app, digest users hear of each update as it comes, like everyone else.
    inapp = select(func.count(OutboxMessage.id)).where(OutboxMessage.channel == "inapp")
    assert db.session.scalar(inapp) == 3 * 3

    # A later update waits for the next digest day, even though it is older than this cutoff.
    client.post(
        f"/api/v1/processes/{pid}/updates",
        json={"title": "会议改期", "body": "议事会改到周日。"},
        headers=facilitator,
    )
    again = run_tick(db.session, tomorrow + timedelta(hours=2), app.config)
    assert again["digests_composed"] == 0
    next_day = run_tick(db.session, tomorrow + timedelta(days=1), app.config)
    assert next_day["digests_composed"] == 1
    second = by_recipient(smtp)["daily0@example.cn"]
    assert len(second) == 2 and "会议改期" in second[1][1] and "线下议事会" not in second[1][1]


def test_refused_first_attempt_sends_the_digest_once(app, client, smtp):
    followed_process(client, digest=1, each=0)
    smtp.refuse = 1
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    first = run_tick(db.session, tomorrow, app.config)
    assert (first["digests_composed"], first["emails_sent"]) == (1, 0)
    digest = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    assert digest.attempts == 1 and "451" in digest.last_error
    second = run_tick(db.session, tomorrow, app.config)
    assert (second["digests_composed"], second["emails_sent"]) == (0, 1)
    assert run_tick(db.session, tomorrow + timedelta(hours=1), app.config)["emails_sent"] == 0
    assert len(smtp.received) == 1


def test_two_concurrent_ticks_compose_and_send_each_digest_once(app, client, smtp):
    followed_process(client, digest=5, each=2)
    db.session.close()
    results = concurrent_ticks(app, datetime.now(UTC) + timedelta(days=1))
    assert sum(r["digests_composed"] for r in results) == 5
    assert sum(r["emails_sent"] for r in results) == 5 + 2 * len(UPDATES)
    mail = by_recipient(smtp)
    assert sorted(mail) == sorted(
        [f"daily{i}@example.cn" for i in range(5)] + ["each0@example.cn", "each1@example.cn"]
    )
    assert all(len(mail[f"daily{i}@example.cn"]) == 1 for i in range(5))
    assert all(len(mail[f"each{i}@example.cn"]) == len(UPDATES) for i in range(2))
    pending = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.channel == "digest", OutboxMessage.sent_at.is_(None)
    )
    assert db.session.scalar(pending) == 0


def test_account_page_offers_the_digest(app, client):
    user = make_user(email="li@example.cn")
    token = sign_in(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="email_frequency" value="each" checked' in page
    form = {"display_name": "李阿姨", "locale": "zh_CN", "email": "li@example.cn",
            "csrf_token": token}  # fmt: skip

    def saved() -> bool:
        db.session.expire_all()
        return db.session.get(User, user.id).email_digest

    assert client.post("/account", data={**form, "email_frequency": "daily"}).status_code == 302
    assert saved() is True
    assert 'value="daily" checked' in client.get("/account").get_data(as_text=True)
    assert client.post("/account", data=form).status_code == 302  # no choice sent: kept
    assert saved() is True
    before = row_counts()
    for bad in ("weekly", "1", "每天" * 500):
        refused = client.post("/account", data={**form, "email_frequency": bad})
        assert refused.status_code == 422
    assert saved() is True and row_counts() == before
    assert client.post("/account", data={**form, "email_frequency": "each"}).status_code == 302
    assert saved() is False
