"""In-app notifications reach a person's inbox page and API."""

from __future__ import annotations

from massline.extensions import db
from massline.notifications.models import OutboxMessage
from tests.factories import bearer, make_user, sign_in


def test_inbox_shows_counts_and_marks_read(app, client):
    user = make_user()
    other = make_user()
    for text in ("报告已公布", "诉求已合并"):
        db.session.add(
            OutboxMessage(channel="inapp", user_id=user.id, recipient=str(user.id), body=text)
        )
    db.session.add(OutboxMessage(channel="inapp", user_id=other.id, recipient="x", body="别人的"))
    db.session.add(
        OutboxMessage(channel="sms", user_id=user.id, recipient=user.phone, body="验证码")
    )
    db.session.commit()

    listed = client.get("/api/v1/notifications", headers=bearer(user)).get_json()
    assert [item["body"] for item in listed["items"]] == ["诉求已合并", "报告已公布"]
    assert listed["unread"] == 2
    sign_in(client, user)
    assert 'id="notifications-link"' in client.get("/").get_data(as_text=True)
    page = client.get("/notifications").get_data(as_text=True)
    assert "报告已公布" in page and "别人的" not in page and "验证码" not in page
    assert client.get("/api/v1/notifications", headers=bearer(user)).get_json()["unread"] == 0
    assert client.get("/api/v1/notifications", headers=bearer(other)).get_json()["unread"] == 1


def test_inbox_needs_sign_in(app, client):
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.get("/notifications").status_code == 401


def test_email_for_updates_is_saved_from_the_account_page(app, client):
    user = make_user()
    token = sign_in(client, user)
    form = {"display_name": "李阿姨", "locale": "zh_CN", "csrf_token": token}
    bad = client.post("/account", data={**form, "email": "not an address"})
    assert bad.status_code == 422
    good = client.post("/account", data={**form, "email": "li@example.cn"})
    assert good.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(user), user.id).email == "li@example.cn"
