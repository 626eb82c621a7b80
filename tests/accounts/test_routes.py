"""Account pages: register → verify → sign in → my account, and their refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from massline.accounts.models import User, VerificationCode
from massline.extensions import db
from massline.notifications.models import OutboxMessage
from tests.factories import HOME, make_user, row_counts, sign_in

FORM = {
    "phone": "139-1234-5678",
    "display_name": "王师傅",
    "password": "a-long-password",
    "locality_code": HOME,
}


def anonymous_token(client: Any) -> str:
    """A valid CSRF token for the client's current session (signed in or not).

    Tokens are not scraped from pages: the fixture's app context is shared by every
    request of a test, so Flask-WTF's per-request `g.csrf_token` cache goes stale there.
    """
    with client.session_transaction() as session:
        session["csrf_token"] = "anonymous"
    secret = client.application.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps("anonymous")


def latest_code(phone: str) -> str:
    """The code in the newest SMS to the phone."""
    body = db.session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.recipient == phone)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\b\d{6}\b", body).group()


def test_register_verify_sign_in_and_account(client):
    token = anonymous_token(client)
    assert client.get("/register").status_code == 200
    registered = client.post("/register", data={**FORM, "csrf_token": token})
    assert registered.status_code == 302 and registered.location.endswith("/verify")
    user = db.session.scalars(select(User)).one()
    assert user.phone == "13912345678" and not user.is_verified

    # the session was renewed on sign-in, so the old token is void
    assert client.get("/verify").status_code == 200
    token = anonymous_token(client)
    resent = client.post("/verify", data={"resend": "1", "csrf_token": token})
    assert resent.status_code == 302, resent.get_data(as_text=True).split("<main")[-1][:300]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    done = client.post("/verify", data={"code": latest_code(user.phone), "csrf_token": token})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified

    client.post("/logout", data={"csrf_token": token})
    assert client.get("/account").status_code == 401
    token = anonymous_token(client)
    signed = client.post(
        "/login?next=//evil.example/x",
        data={"phone": "13912345678", "password": FORM["password"], "csrf_token": token},
    )
    assert signed.status_code == 302
    assert "evil.example" not in signed.location  # only local paths after sign-in
    assert "王师傅" in client.get("/account").get_data(as_text=True)
    token = anonymous_token(client)
    saved = client.post(
        "/account", data={"display_name": "王师傅二号", "locale": "en", "csrf_token": token}
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "王师傅二号"
    assert db.session.get(User, user.id).locale == "en"


def _with(**changes: Any) -> dict[str, Any]:
    return {**FORM, **changes}


REGISTER_CASES = [
    ("empty", {}, 422),
    ("phone-bad", _with(phone="12345"), 422),
    ("phone-long", _with(phone="1" * 21), 422),
    ("name-short", _with(display_name="王"), 422),
    ("name-long", _with(display_name="王" * 41), 422),
    ("name-control", _with(display_name="王\x07师傅"), 422),
    ("password-short", _with(password="short"), 422),
    ("password-long", _with(password="p" * 129), 422),
    ("locality-unknown", _with(locality_code="999999"), 404),
    ("locality-short", _with(locality_code="43"), 422),
]


@pytest.mark.parametrize(
    ("data", "status"), [c[1:] for c in REGISTER_CASES], ids=[c[0] for c in REGISTER_CASES]
)
def test_register_form_refusals(client, data, status):
    token = anonymous_token(client)
    before = row_counts()
    response = client.post("/register", data={**data, "csrf_token": token})
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert 'name="phone"' in page  # the form again, to correct
    if data.get("display_name") and "\x07" not in data["display_name"]:
        assert data["display_name"] in page  # what was typed is kept
    assert row_counts() == before


def test_register_taken_phone(client):
    user = make_user()
    before = row_counts()
    response = client.post(
        "/register", data={**_with(phone=user.phone), "csrf_token": anonymous_token(client)}
    )
    assert response.status_code == 409
    assert row_counts() == before


def test_verify_form_refusals_and_attempt_limit(client, app):
    user = make_user(verified=False)
    token = sign_in(client, user)
    assert client.post("/verify", data={"code": "", "csrf_token": token}).status_code == 422
    client.post("/verify", data={"resend": "1", "csrf_token": token})
    right = latest_code(user.phone)
    wrong = "000000" if right != "000000" else "111111"
    for bad in ["12\x0034", "x" * 50, wrong, wrong, wrong][
        : app.config["MASSLINE_CODE_MAX_ATTEMPTS"]
    ]:
        response = client.post("/verify", data={"code": bad, "csrf_token": token})
        assert response.status_code == 422
        assert 'name="code"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(VerificationCode)).one().attempts >= 5
    late = client.post("/verify", data={"code": right, "csrf_token": token})
    assert late.status_code == 422
    assert not db.session.get(User, user.id).is_verified


def test_verify_needs_sign_in(client):
    assert client.get("/verify").status_code == 401
    response = client.post(
        "/verify", data={"code": "123456", "csrf_token": anonymous_token(client)}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"phone": "13912345678"},
        {"phone": "13912345678", "password": "wrong-password"},
        {"phone": "not-a-phone", "password": "a-long-password"},
        {"phone": "1391234\x005678", "password": "a-long-password"},
        {"phone": "13912345678", "password": "p" * 129},
    ],
    ids=["empty", "no-password", "wrong-password", "bad-phone", "control", "long-password"],
)
def test_login_form_refusals(client, data):
    make_user(phone="13912345678", password="a-long-password")
    response = client.post("/login", data={**data, "csrf_token": anonymous_token(client)})
    assert response.status_code in (401, 422)
    assert 'name="password"' in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "user_id" not in session


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({}, 422),
        ({"display_name": "王", "locale": "en"}, 422),
        ({"display_name": "王" * 41, "locale": "en"}, 422),
        ({"display_name": "王\x1b[0m", "locale": "en"}, 422),
        ({"display_name": "王师傅", "locale": "fr"}, 422),
        ({"display_name": "王师傅"}, 422),
    ],
    ids=["empty", "short", "long", "control", "locale", "no-locale"],
)
def test_account_form_refusals(client, data, status):
    user = make_user(display_name="原来的名字")
    token = sign_in(client, user)
    response = client.post("/account", data={**data, "csrf_token": token})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "原来的名字"


def test_account_page_needs_sign_in(client):
    assert client.get("/account").status_code == 401
    response = client.post(
        "/account", data={"display_name": "x", "csrf_token": anonymous_token(client)}
    )
    assert response.status_code == 401


def test_login_redirects_only_to_local_paths(client):
    make_user(phone="13912345678", password="a-long-password")
    credentials = {"phone": "13912345678", "password": "a-long-password"}
    for target, local in [
        ("/priorities?sort=hot", True),
        ("//evil.example/x", False),
        ("/\\evil.example/x", False),
        ("/\t/evil.example", False),
        ("https://evil.example/", False),
    ]:
        response = client.post(
            "/login",
            query_string={"next": target},
            data={**credentials, "csrf_token": anonymous_token(client)},
        )
        assert response.status_code == 302, target
        assert ("evil.example" not in response.location) and (
            response.location.endswith(target) == local
        ), (target, response.location)
