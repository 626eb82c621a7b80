"""The account API: register → code → verify → token, its refusals, and its rate limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from massline import create_app
from massline.accounts.models import User, VerificationCode
from massline.extensions import db, limiter
from massline.notifications.models import OutboxMessage
from tests.factories import HOME, bearer, make_user, row_counts

NEW = {
    "phone": "139 1234 5678",
    "display_name": "李阿姨",
    "password": "a-long-password",
    "locality_code": HOME,
}


def code_for(phone: str) -> str:
    """The latest code texted to the phone, read from the outbox."""
    body = db.session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.recipient == phone)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\b\d{6}\b", body).group()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code and error["message"].strip()
    return error


def test_register_verify_token_and_me(client):
    created = client.post("/api/v1/auth/register", json=NEW)
    assert created.status_code == 201
    assert created.get_json()["verified"] is False
    user = db.session.get(User, created.get_json()["id"])
    assert user.phone == "13912345678" and user.password_hash != NEW["password"]
    assert not user.is_verified
    sms = db.session.scalars(select(OutboxMessage)).one()
    assert sms.channel == "sms" and sms.recipient == "13912345678"

    verified = client.post(
        "/api/v1/auth/verify", json={"phone": NEW["phone"], "code": code_for("13912345678")}
    )
    assert verified.status_code == 200 and verified.get_json()["verified"] is True

    token = client.post(
        "/api/v1/auth/token", json={"phone": "+8613912345678", "password": NEW["password"]}
    )
    assert token.status_code == 200 and token.get_json()["token_type"] == "Bearer"
    me = client.get(
        "/api/v1/me", headers={"Authorization": "Bearer " + token.get_json()["token"]}
    ).get_json()
    assert me["display_name"] == "李阿姨" and me["verified"] is True
    assert me["locality_code"] == HOME and me["roles"] == []


def test_send_code_replaces_the_previous_code(client):
    client.post("/api/v1/auth/register", json=NEW)
    first = code_for("13912345678")
    assert client.post("/api/v1/auth/send-code", json={"phone": NEW["phone"]}).status_code == 202
    second = code_for("13912345678")
    if first != second:  # one in a million they coincide
        stale = client.post("/api/v1/auth/verify", json={"phone": NEW["phone"], "code": first})
        _error(stale, 422, "invalid")
    ok = client.post("/api/v1/auth/verify", json={"phone": NEW["phone"], "code": second})
    assert ok.status_code == 200


def test_wrong_codes_are_counted_through_the_api(client, app):
    """Each wrong try is stored even though the request fails; the limit then holds."""
    client.post("/api/v1/auth/register", json=NEW)
    right = code_for("13912345678")
    wrong = "000000" if right != "000000" else "111111"
    limit = app.config["MASSLINE_CODE_MAX_ATTEMPTS"]
    for _ in range(limit):
        _error(
            client.post("/api/v1/auth/verify", json={"phone": NEW["phone"], "code": wrong}),
            422,
            "invalid",
        )
    db.session.expire_all()
    pending = db.session.scalars(select(VerificationCode)).one()
    assert pending.attempts == limit
    late = client.post("/api/v1/auth/verify", json={"phone": NEW["phone"], "code": right})
    assert "code" in _error(late, 422, "invalid")["fields"]
    assert not db.session.scalars(select(User)).one().is_verified


def test_expired_code_refused(client):
    client.post("/api/v1/auth/register", json=NEW)
    code = code_for("13912345678")
    pending = db.session.scalars(select(VerificationCode)).one()
    pending.expires_at = pending.expires_at.replace(year=2000)
    db.session.commit()
    refused = client.post("/api/v1/auth/verify", json={"phone": NEW["phone"], "code": code})
    assert "code" in _error(refused, 422, "invalid")["fields"]


def _with(**changes: Any) -> dict[str, Any]:
    body = dict(NEW)
    for name, value in changes.items():
        if value is None:
            body.pop(name)
        else:
            body[name] = value
    return body


# (id, path, body, status, code, field)
CASES = [
    ("register-empty", "/auth/register", {}, 422, "invalid", "phone"),
    ("register-no-phone", "/auth/register", _with(phone=None), 422, "invalid", "phone"),
    ("register-phone-number", "/auth/register", _with(phone=13912345678), 422, "invalid", "phone"),
    (
        "register-phone-list",
        "/auth/register",
        _with(phone=["13912345678"]),
        422,
        "invalid",
        "phone",
    ),
    ("register-phone-bad", "/auth/register", _with(phone="12345"), 422, "invalid", "phone"),
    ("register-phone-long", "/auth/register", _with(phone="1" * 21), 422, "invalid", "phone"),
    (
        "register-phone-control",
        "/auth/register",
        _with(phone="1391234\x005678"),
        422,
        "invalid",
        "phone",
    ),
    (
        "register-name-short",
        "/auth/register",
        _with(display_name="李"),
        422,
        "invalid",
        "display_name",
    ),
    (
        "register-name-long",
        "/auth/register",
        _with(display_name="李" * 41),
        422,
        "invalid",
        "display_name",
    ),
    (
        "register-name-control",
        "/auth/register",
        _with(display_name="李\x1b阿姨"),
        422,
        "invalid",
        "display_name",
    ),
    (
        "register-name-newline",
        "/auth/register",
        _with(display_name="李\n阿姨"),
        422,
        "invalid",
        "display_name",
    ),
    (
        "register-name-object",
        "/auth/register",
        _with(display_name={"zh": "李"}),
        422,
        "invalid",
        "display_name",
    ),
    (
        "register-name-null",
        "/auth/register",
        {**NEW, "display_name": None},
        422,
        "invalid",
        "display_name",
    ),
    (
        "register-password-short",
        "/auth/register",
        _with(password="short"),
        422,
        "invalid",
        "password",
    ),
    (
        "register-password-long",
        "/auth/register",
        _with(password="p" * 129),
        422,
        "invalid",
        "password",
    ),
    (
        "register-password-number",
        "/auth/register",
        _with(password=12345678),
        422,
        "invalid",
        "password",
    ),
    (
        "register-locality-number",
        "/auth/register",
        _with(locality_code=430102),
        422,
        "invalid",
        "locality_code",
    ),
    (
        "register-locality-short",
        "/auth/register",
        _with(locality_code="4301"),
        422,
        "invalid",
        "locality_code",
    ),
    (
        "register-locality-unknown",
        "/auth/register",
        _with(locality_code="999999"),
        404,
        "not_found",
        "locality_code",
    ),
    ("send-code-empty", "/auth/send-code", {}, 422, "invalid", "phone"),
    ("send-code-number", "/auth/send-code", {"phone": 13712345678}, 422, "invalid", "phone"),
    ("send-code-bad", "/auth/send-code", {"phone": "abc"}, 422, "invalid", "phone"),
    ("send-code-unknown", "/auth/send-code", {"phone": "13999999999"}, 404, "not_found", "phone"),
    ("verify-empty", "/auth/verify", {}, 422, "invalid", "phone"),
    (
        "verify-code-number",
        "/auth/verify",
        {"phone": "{phone}", "code": 123456},
        422,
        "invalid",
        "code",
    ),
    (
        "verify-code-short",
        "/auth/verify",
        {"phone": "{phone}", "code": "123"},
        422,
        "invalid",
        "code",
    ),
    (
        "verify-code-long",
        "/auth/verify",
        {"phone": "{phone}", "code": "1234567"},
        422,
        "invalid",
        "code",
    ),
    (
        "verify-code-control",
        "/auth/verify",
        {"phone": "{phone}", "code": "12\x0034"},
        422,
        "invalid",
        "code",
    ),
    (
        "verify-unknown-phone",
        "/auth/verify",
        {"phone": "13999999999", "code": "123456"},
        422,
        "invalid",
        "code",
    ),
    (
        "verify-no-code-sent",
        "/auth/verify",
        {"phone": "{phone}", "code": "123456"},
        422,
        "invalid",
        "code",
    ),
    ("token-empty", "/auth/token", {}, 422, "invalid", "phone"),
    (
        "token-password-list",
        "/auth/token",
        {"phone": "{phone}", "password": ["x"]},
        422,
        "invalid",
        "password",
    ),
    (
        "token-wrong-password",
        "/auth/token",
        {"phone": "{phone}", "password": "wrong-password"},
        401,
        "unauthorized",
        None,
    ),
    (
        "token-unknown-phone",
        "/auth/token",
        {"phone": "13999999999", "password": "a-long-password"},
        401,
        "unauthorized",
        None,
    ),
    (
        "token-bad-phone",
        "/auth/token",
        {"phone": "hello", "password": "a-long-password"},
        401,
        "unauthorized",
        None,
    ),
]


PATHS = sorted({c[1] for c in CASES})


@pytest.mark.parametrize("path", PATHS)
def test_account_writes_refused_and_nothing_stored(client, path):
    """One test per endpoint looping over its rows: emptying tables is slow on PostgreSQL."""
    # Password hashing is deliberately slow: only the token cases need one.
    password = "a-long-password" if path == "/auth/token" else None
    existing = make_user(password=password, verified=False)
    for case, case_path, body, status, code, field in CASES:
        if case_path != path:
            continue
        body = {
            k: v.format(phone=existing.phone) if isinstance(v, str) else v for k, v in body.items()
        }
        before = row_counts()
        try:
            error = _error(client.post("/api/v1" + path, json=body), status, code)
        except AssertionError as failure:
            raise AssertionError(f"{case}: {failure}") from None
        if field is not None:
            assert field in error["fields"] and error["fields"][field].strip(), case
        db.session.expire_all()
        assert row_counts() == before, case
        assert not db.session.get(User, existing.id).is_verified, case


def test_register_taken_phone_is_409(client):
    user = make_user()
    before = row_counts()
    taken = client.post("/api/v1/auth/register", json=_with(phone=user.phone))
    assert "phone" in _error(taken, 409, "conflict")["fields"]
    assert row_counts() == before


RAW_BODIES = [
    (b'{"phone": "\xff\xfe"}', "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"13712345678"', "application/json"),
    (b"null", "application/json"),
    (b"{", "application/json"),
    (b'{"a":' * 100_000, "application/json"),
    (b"phone=\xff\xfe&password=\xc3\x28", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize("path", PATHS)
def test_account_raw_bodies_refused(client, path):
    for raw, content_type in RAW_BODIES:
        before = row_counts()
        response = client.post("/api/v1" + path, data=raw, content_type=content_type)
        assert 400 <= response.status_code < 500, raw
        assert response.get_json()["error"]["code"] in {"invalid", "encoding", "bad_request"}, raw
        assert row_counts() == before, raw


def test_unknown_locality_message_is_a_sentence(client):
    refused = client.post("/api/v1/auth/register", json=_with(locality_code="999999"))
    message = refused.get_json()["error"]["fields"]["locality_code"]
    assert message != "unknown locality"  # a translatable sentence, not a developer note
    assert message.strip()


def test_me_needs_credentials(client):
    _error(client.get("/api/v1/me"), 401, "unauthorized")
    _error(client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    assert client.get("/api/v1/me", headers=bearer(make_user())).status_code == 200


def test_send_code_is_rate_limited(app, app_config):
    """With limits on (as in production), the sixth code in ten minutes is refused."""
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True})
    try:
        with limited.app_context():
            user = make_user(verified=False)
            client = limited.test_client()
            statuses = [
                client.post("/api/v1/auth/send-code", json={"phone": user.phone}).status_code
                for _ in range(6)
            ]
            assert statuses == [202] * 5 + [429]
            # the rate-limit key reads the body too: a body nested too deep is still a 4xx
            deep = client.post(
                "/api/v1/auth/register", data=b"[" * 100_000, content_type="application/json"
            )
            assert deep.status_code == 422
            refused = client.post("/api/v1/auth/send-code", json={"phone": user.phone})
            error = _error(refused, 429, "too_many_requests")
            assert refused.headers.get("Retry-After")
            assert error["message"].strip()
            sent = db.session.scalar(select(func.count()).select_from(OutboxMessage))
            assert sent == 5
            db.session.remove()
    finally:
        # The limiter is one module-level object: switching it on for `limited` switched
        # it on for every app, so put the session app's setting back.
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        limiter.reset()
        with limited.app_context():
            db.engine.dispose()  # its own pool: close it rather than leave it to GC
