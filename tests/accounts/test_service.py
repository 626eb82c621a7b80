"""Account rules without HTTP: phone numbers, input parsing (property tests), roles, codes."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from massline.accounts import service
from massline.accounts.models import VerificationCode
from massline.errors import Conflict, ValidationError
from massline.extensions import db
from massline.models_common import utcnow
from massline.notifications.models import OutboxMessage
from massline.notifications.sms import OutboxSmsSender
from massline.parsing import DB_INT_MAX, Fields
from tests.factories import ELSEWHERE, HOME, NEIGHBOUR, PREFECTURE, make_user

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
# Anything a JSON body or a form can carry as one field's value.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13712345678", "13712345678"),
        (" 137 1234 5678 ", "13712345678"),
        ("137-1234-5678", "13712345678"),
        ("+86 137 1234 5678", "13712345678"),
        ("008613712345678", "13712345678"),
        ("(137)12345678", "13712345678"),
        ("１３７１２３４５６７８", "13712345678"),  # full-width, as a Chinese IME types it
    ],
)
def test_normalise_phone_accepts_common_spellings(raw, expected):
    assert service.normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1371234567",
        "137123456789",
        "12712345678",
        "23712345678",
        "1371234567a",
        "+1 13712345678",
        "137١٢٣٤٥٦٧٨",
        "١٣٧١٢٣٤٥٦٧٨",
    ],
)
def test_normalise_phone_refuses(raw):
    with pytest.raises(ValidationError) as refused:
        service.normalise_phone(raw)
    assert "phone" in refused.value.fields


@given(st.text(max_size=30))
def test_normalise_phone_never_raises_anything_else(raw):
    """Whatever the text, the result is 11 ASCII digits of a mobile number, or ValidationError."""
    try:
        phone = service.normalise_phone(raw)
    except ValidationError:
        return
    assert re.fullmatch(r"1[3-9][0-9]{9}", phone, flags=re.ASCII)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086"]))
def test_normalise_phone_round_trips_valid_numbers(phone, prefix):
    assert service.normalise_phone(prefix + phone) == phone


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    value=JSON_VALUES,
    min_length=st.integers(min_value=1, max_value=5),
    max_length=st.integers(min_value=5, max_value=40),
    multiline=st.booleans(),
)
def test_fields_text_bounds_hold(value, min_length, max_length, multiline):
    fields = Fields({"f": value})
    result = fields.text("f", max_length=max_length, min_length=min_length, multiline=multiline)
    try:
        fields.check()
    except ValidationError as error:
        assert set(error.fields) == {"f"}
        assert result == ""
        return
    assert isinstance(value, str)
    assert min_length <= len(result) <= max_length
    assert result == result.strip()
    assert unicodedata.is_normalized("NFC", result)
    assert not CONTROL.search(result)
    if not multiline:
        assert "\n" not in result and "\r" not in result


@given(
    value=JSON_VALUES | st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
    minimum=st.none() | st.integers(min_value=-5, max_value=5),
    maximum=st.none() | st.integers(min_value=5, max_value=10**12),
)
def test_fields_integer_bounds_hold(value, minimum, maximum):
    fields = Fields({"n": value})
    result = fields.integer("n", minimum=minimum, maximum=maximum)
    try:
        fields.check()
    except ValidationError as error:
        assert set(error.fields) == {"n"}
        assert result is None
        return
    assert type(result) is int
    assert result <= DB_INT_MAX and result >= -DB_INT_MAX - 1
    assert minimum is None or result >= minimum
    assert maximum is None or result <= maximum


@given(value=JSON_VALUES)
def test_fields_choice_and_flag_only_accept_their_values(value):
    fields = Fields({"c": value, "b": value})
    choice = fields.choice("c", ("hide", "restore"), required=False)
    flag = fields.flag("b")
    assert choice in (None, "hide", "restore")
    assert isinstance(flag, bool)
    if choice is not None:
        assert value == choice
    try:
        fields.check()
    except ValidationError as error:
        assert set(error.fields) <= {"c", "b"}


def test_fields_collects_every_error_at_once():
    fields = Fields({"a": 5, "b": "x" * 50, "c": "maybe"})
    fields.text("a", max_length=10)
    fields.text("b", max_length=10)
    fields.flag("c")
    fields.text("missing", max_length=10)
    with pytest.raises(ValidationError) as refused:
        fields.check()
    assert set(refused.value.fields) == {"a", "b", "c", "missing"}


@pytest.fixture
def ctx(app):
    """A request context, so refusals can render their (translated) messages."""
    with app.test_request_context():
        yield app


def test_create_user_refuses_a_taken_phone_in_any_spelling(ctx):
    user = make_user()
    spaced = f"+86 {user.phone[:3]} {user.phone[3:7]} {user.phone[7:]}"
    with pytest.raises(Conflict):
        service.create_user(db.session, phone=spaced, display_name="重复", home_code=HOME)


def test_roles_cover_their_subtree_only(ctx):
    from massline.localities.service import get_locality

    worker = make_user(roles=(("community_worker", PREFECTURE),))
    admin = make_user(roles=(("admin", ELSEWHERE),))
    home, neighbour, elsewhere = (get_locality(db.session, c) for c in (HOME, NEIGHBOUR, ELSEWHERE))
    assert service.has_role(worker, "community_worker", home)
    assert service.has_role(worker, "community_worker", neighbour)
    assert not service.has_role(worker, "community_worker", elsewhere)
    assert not service.has_role(worker, "facilitator", home)
    assert service.has_role(admin, "facilitator", elsewhere)  # admin stands in for every role
    assert not service.has_role(admin, "facilitator", home)
    assert not service.has_role(None, "citizen")
    # granting twice keeps one row
    assert service.grant_role(db.session, worker, "community_worker", PREFECTURE) in worker.roles
    assert len(worker.roles) == 1
    with pytest.raises(ValidationError):
        service.grant_role(db.session, worker, "emperor", HOME)


def _code_from_outbox(phone: str) -> str:
    message = db.session.scalars(
        db.select(OutboxMessage)
        .where(OutboxMessage.recipient == phone)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\d{6}", message.body).group()


def test_codes_expire_and_count_attempts(ctx):
    user = make_user(verified=False)
    service.send_code(db.session, OutboxSmsSender(), user.phone, ttl_minutes=10)
    code = _code_from_outbox(user.phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        with pytest.raises(ValidationError):
            service.verify_code(db.session, user.phone, wrong, max_attempts=3)
    # three wrong tries used up the code: even the right one is refused now
    with pytest.raises(ValidationError) as refused:
        service.verify_code(db.session, user.phone, code, max_attempts=3)
    assert "code" in refused.value.fields
    assert user.verified_at is None

    service.send_code(db.session, OutboxSmsSender(), user.phone, ttl_minutes=10)
    fresh = _code_from_outbox(user.phone)
    pending = db.session.scalars(
        db.select(VerificationCode).order_by(VerificationCode.id.desc())
    ).first()
    pending.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(ValidationError):
        service.verify_code(db.session, user.phone, fresh, max_attempts=3)

    service.send_code(db.session, OutboxSmsSender(), user.phone, ttl_minutes=10)
    latest = _code_from_outbox(user.phone)
    assert service.verify_code(db.session, user.phone, latest, max_attempts=3) is user
    assert user.is_verified
    with pytest.raises(ValidationError):  # a code works once
        service.verify_code(db.session, user.phone, latest, max_attempts=3)


def test_authenticate_and_tokens(ctx):
    user = make_user(password="correct-horse")
    assert service.authenticate(db.session, user.phone, "correct-horse") is user
    for phone, password in [
        (user.phone, "wrong-horse"),
        ("13999999999", "correct-horse"),
        ("not a phone", "x"),
    ]:
        with pytest.raises(service.Unauthorized):
            service.authenticate(db.session, phone, password)
    no_password = make_user()
    with pytest.raises(service.Unauthorized):
        service.authenticate(db.session, no_password.phone, "")
    raw = service.issue_token(db.session, user, days=1)
    assert service.user_for_token(db.session, raw) is user
    assert service.user_for_token(db.session, raw + "x") is None
    user.is_active = False
    assert service.user_for_token(db.session, raw) is None
