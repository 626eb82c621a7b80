"""Bad input on every priority write (API and forms): a clear 4xx, and nothing stored."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask_babel import gettext
from itsdangerous import URLSafeTimedSerializer
from markupsafe import escape

from massline.extensions import db
from massline.priorities.discussion import add_comment
from massline.priorities.schemas import CommentInput
from tests.factories import (
    ELSEWHERE,
    HOME,
    bearer,
    make_priority,
    make_user,
    row_counts,
    sign_in,
)

HUGE = 10**20  # beyond every integer column: must be a 4xx, not a database error
GOOD = {
    "title": "小区门口路灯坏了三个月",
    "body": "芙蓉区某小区门口的路灯已经坏了三个月，晚上出行很不安全。",
    "locality_code": HOME,
}
CSRF_MESSAGE = "The form has expired or was not sent from this site. Reload it."


@pytest.fixture
def world(app) -> dict[str, Any]:
    """Actors and targets: a published priority with a comment and a reply, and a draft."""
    author = make_user(display_name="作者")
    users = {
        "author": author,
        "citizen": make_user(),
        "unverified": make_user(verified=False),
        "outsider": make_user(home_code=ELSEWHERE),
        "worker": make_user(roles=(("community_worker", HOME),)),
        "far_facilitator": make_user(roles=(("facilitator", ELSEWHERE),), home_code=ELSEWHERE),
    }
    priority = make_priority(author)
    draft = make_priority(author, draft=True, title="草稿：还没想好的建议")
    top = add_comment(db.session, priority, users["citizen"], CommentInput("同意", None))
    reply = add_comment(db.session, priority, author, CommentInput("谢谢支持", top.id))
    db.session.commit()
    ids = {"p": priority.id, "d": draft.id, "c": top.id, "r": reply.id}
    return {"users": users, "ids": ids, "residents": {"resident": users["citizen"].phone}}


def _with(**changes: Any) -> dict[str, Any]:
    """GOOD with some fields changed; None as a value drops the field."""
    body = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


# (id, actor, method, path, JSON body, status, error code, field named in `fields` or None)
API_CASES = [
    # POST /priorities: every field, every way of being wrong
    ("create-empty", "author", "post", "/priorities", {}, 422, "invalid", "title"),
    (
        "create-no-title",
        "author",
        "post",
        "/priorities",
        _with(title=None),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-number",
        "author",
        "post",
        "/priorities",
        _with(title=123),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-list",
        "author",
        "post",
        "/priorities",
        _with(title=["a"]),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-object",
        "author",
        "post",
        "/priorities",
        _with(title={"zh": "路灯"}),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-null",
        "author",
        "post",
        "/priorities",
        {**GOOD, "title": None},
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-bool",
        "author",
        "post",
        "/priorities",
        _with(title=True),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-empty",
        "author",
        "post",
        "/priorities",
        _with(title=""),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-blank",
        "author",
        "post",
        "/priorities",
        _with(title="   \t "),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-short",
        "author",
        "post",
        "/priorities",
        _with(title="路灯"),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-long",
        "author",
        "post",
        "/priorities",
        _with(title="长" * 81),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-nul",
        "author",
        "post",
        "/priorities",
        _with(title="路灯坏了\x00三个月"),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-escape",
        "author",
        "post",
        "/priorities",
        _with(title="\x1b[31m路灯坏了三个月"),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-newline",
        "author",
        "post",
        "/priorities",
        _with(title="路灯坏了\n三个月"),
        422,
        "invalid",
        "title",
    ),
    (
        "create-title-c1",
        "author",
        "post",
        "/priorities",
        _with(title="路灯坏了\x85三个月"),
        422,
        "invalid",
        "title",
    ),
    (
        "create-body-missing",
        "author",
        "post",
        "/priorities",
        _with(body=None),
        422,
        "invalid",
        "body",
    ),
    (
        "create-body-number",
        "author",
        "post",
        "/priorities",
        _with(body=12345678901),
        422,
        "invalid",
        "body",
    ),
    (
        "create-body-bell",
        "author",
        "post",
        "/priorities",
        _with(body="晚上很黑，很不安全\x07请修好"),
        422,
        "invalid",
        "body",
    ),
    (
        "create-body-long",
        "author",
        "post",
        "/priorities",
        _with(body="字" * 6001),
        422,
        "invalid",
        "body",
    ),
    (
        "create-body-replacement",
        "author",
        "post",
        "/priorities",
        _with(body="乱码\ufffd乱码乱码乱码乱码"),
        422,
        "invalid",
        "body",
    ),
    (
        "create-locality-missing",
        "author",
        "post",
        "/priorities",
        _with(locality_code=None),
        422,
        "invalid",
        "locality_code",
    ),
    (
        "create-locality-number",
        "author",
        "post",
        "/priorities",
        _with(locality_code=430102),
        422,
        "invalid",
        "locality_code",
    ),
    (
        "create-locality-unknown",
        "author",
        "post",
        "/priorities",
        _with(locality_code="999999"),
        404,
        "not_found",
        "locality_code",
    ),
    (
        "create-locality-elsewhere",
        "author",
        "post",
        "/priorities",
        _with(locality_code=ELSEWHERE),
        403,
        "forbidden",
        "locality_code",
    ),
    (
        "create-category-unknown",
        "author",
        "post",
        "/priorities",
        _with(category="no-such-domain"),
        422,
        "invalid",
        "category",
    ),
    (
        "create-category-number",
        "author",
        "post",
        "/priorities",
        _with(category=7),
        422,
        "invalid",
        "category",
    ),
    (
        "create-draft-word",
        "author",
        "post",
        "/priorities",
        _with(draft="maybe"),
        422,
        "invalid",
        "draft",
    ),
    (
        "create-draft-list",
        "author",
        "post",
        "/priorities",
        _with(draft=[True]),
        422,
        "invalid",
        "draft",
    ),
    (
        "create-process",
        "author",
        "post",
        "/priorities",
        _with(process_id=5),
        404,
        "not_found",
        "process_id",
    ),
    ("create-unverified", "unverified", "post", "/priorities", GOOD, 403, "forbidden", None),
    ("create-anonymous", None, "post", "/priorities", GOOD, 401, "unauthorized", None),
    (
        "create-citizen-as-worker",
        "citizen",
        "post",
        "/priorities",
        _with(resident_phone="{resident}"),
        403,
        "forbidden",
        None,
    ),
    (
        "create-worker-unknown-resident",
        "worker",
        "post",
        "/priorities",
        _with(resident_phone="13900000000"),
        404,
        "not_found",
        "phone",
    ),
    (
        "create-worker-resident-number",
        "worker",
        "post",
        "/priorities",
        _with(resident_phone=13900000000),
        422,
        "invalid",
        "resident_phone",
    ),
    (
        "create-worker-resident-bad",
        "worker",
        "post",
        "/priorities",
        _with(resident_phone="12345"),
        422,
        "invalid",
        "phone",
    ),
    # PATCH /priorities/<id>
    ("edit-other-user", "citizen", "patch", "/priorities/{p}", GOOD, 403, "forbidden", None),
    ("edit-other-draft", "citizen", "patch", "/priorities/{d}", GOOD, 404, "not_found", None),
    ("edit-unknown", "author", "patch", "/priorities/999999", GOOD, 404, "not_found", None),
    ("edit-huge-id", "author", "patch", f"/priorities/{HUGE}", GOOD, 404, "not_found", None),
    (
        "edit-title-control",
        "author",
        "patch",
        "/priorities/{p}",
        _with(title="路灯\x0b坏了三个月"),
        422,
        "invalid",
        "title",
    ),
    ("edit-empty", "author", "patch", "/priorities/{p}", {}, 422, "invalid", "body"),
    (
        "edit-move-away",
        "author",
        "patch",
        "/priorities/{p}",
        _with(locality_code=ELSEWHERE),
        403,
        "forbidden",
        "locality_code",
    ),
    ("edit-anonymous", None, "patch", "/priorities/{p}", GOOD, 401, "unauthorized", None),
    # POST /priorities/<id>/publish
    ("publish-published", "author", "post", "/priorities/{p}/publish", None, 409, "conflict", None),
    (
        "publish-other-draft",
        "citizen",
        "post",
        "/priorities/{d}/publish",
        None,
        404,
        "not_found",
        None,
    ),
    (
        "publish-unknown",
        "author",
        "post",
        "/priorities/999999/publish",
        None,
        404,
        "not_found",
        None,
    ),
    ("publish-anonymous", None, "post", "/priorities/{d}/publish", None, 401, "unauthorized", None),
    # POST /priorities/<id>/retire
    ("retire-empty", "author", "post", "/priorities/{p}/retire", {}, 422, "invalid", "reason"),
    (
        "retire-bad-reason",
        "author",
        "post",
        "/priorities/{p}/retire",
        {"reason": "bored", "explanation": "不想做了"},
        422,
        "invalid",
        "reason",
    ),
    (
        "retire-reason-list",
        "author",
        "post",
        "/priorities/{p}/retire",
        {"reason": ["done"], "explanation": "已经修好"},
        422,
        "invalid",
        "reason",
    ),
    (
        "retire-no-explanation",
        "author",
        "post",
        "/priorities/{p}/retire",
        {"reason": "done"},
        422,
        "invalid",
        "explanation",
    ),
    (
        "retire-explanation-long",
        "author",
        "post",
        "/priorities/{p}/retire",
        {"reason": "done", "explanation": "好" * 1001},
        422,
        "invalid",
        "explanation",
    ),
    (
        "retire-explanation-control",
        "author",
        "post",
        "/priorities/{p}/retire",
        {"reason": "done", "explanation": "修\x1f好了"},
        422,
        "invalid",
        "explanation",
    ),
    (
        "retire-other-user",
        "citizen",
        "post",
        "/priorities/{p}/retire",
        {"reason": "done", "explanation": "已经修好"},
        403,
        "forbidden",
        None,
    ),
    (
        "retire-unknown",
        "author",
        "post",
        "/priorities/999999/retire",
        {"reason": "done", "explanation": "已经修好"},
        404,
        "not_found",
        None,
    ),
    # POST /priorities/<id>/supports
    (
        "support-unverified",
        "unverified",
        "post",
        "/priorities/{p}/supports",
        None,
        403,
        "forbidden",
        None,
    ),
    (
        "support-outsider",
        "outsider",
        "post",
        "/priorities/{p}/supports",
        None,
        403,
        "forbidden",
        None,
    ),
    (
        "support-unknown",
        "citizen",
        "post",
        "/priorities/999999/supports",
        None,
        404,
        "not_found",
        None,
    ),
    (
        "support-huge-id",
        "citizen",
        "post",
        f"/priorities/{HUGE}/supports",
        None,
        404,
        "not_found",
        None,
    ),
    ("support-draft", "citizen", "post", "/priorities/{d}/supports", None, 404, "not_found", None),
    (
        "support-non-object",
        "citizen",
        "post",
        "/priorities/{p}/supports",
        [1, 2],
        422,
        "invalid",
        None,
    ),
    (
        "support-citizen-as-worker",
        "citizen",
        "post",
        "/priorities/{p}/supports",
        {"resident_phone": "{resident}"},
        403,
        "forbidden",
        None,
    ),
    (
        "support-worker-resident-list",
        "worker",
        "post",
        "/priorities/{p}/supports",
        {"resident_phone": ["13700000001"]},
        422,
        "invalid",
        "resident_phone",
    ),
    (
        "support-anonymous",
        None,
        "post",
        "/priorities/{p}/supports",
        None,
        401,
        "unauthorized",
        None,
    ),
    # POST /priorities/<id>/follow
    (
        "follow-unknown",
        "citizen",
        "post",
        "/priorities/999999/follow",
        None,
        404,
        "not_found",
        None,
    ),
    ("follow-draft", "citizen", "post", "/priorities/{d}/follow", None, 404, "not_found", None),
    ("follow-anonymous", None, "post", "/priorities/{p}/follow", None, 401, "unauthorized", None),
    # POST /priorities/<id>/comments
    ("comment-empty", "citizen", "post", "/priorities/{p}/comments", {}, 422, "invalid", "body"),
    (
        "comment-blank",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "  \n "},
        422,
        "invalid",
        "body",
    ),
    (
        "comment-number",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": 42},
        422,
        "invalid",
        "body",
    ),
    (
        "comment-object",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": {"text": "好"}},
        422,
        "invalid",
        "body",
    ),
    (
        "comment-long",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "好" * 1001},
        422,
        "invalid",
        "body",
    ),
    (
        "comment-control",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "好\x00"},
        422,
        "invalid",
        "body",
    ),
    (
        "comment-parent-text",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": "first"},
        422,
        "invalid",
        "parent_id",
    ),
    (
        "comment-parent-float",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": 1.5},
        422,
        "invalid",
        "parent_id",
    ),
    (
        "comment-parent-negative",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": -1},
        422,
        "invalid",
        "parent_id",
    ),
    (
        "comment-parent-huge",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": HUGE},
        422,
        "invalid",
        "parent_id",
    ),
    (
        "comment-parent-unknown",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": 999999},
        404,
        "not_found",
        "parent_id",
    ),
    (
        "comment-reply-to-reply",
        "citizen",
        "post",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": "{r}"},
        409,
        "conflict",
        "parent_id",
    ),
    (
        "comment-unverified",
        "unverified",
        "post",
        "/priorities/{p}/comments",
        {"body": "同意"},
        403,
        "forbidden",
        None,
    ),
    (
        "comment-draft",
        "citizen",
        "post",
        "/priorities/{d}/comments",
        {"body": "同意"},
        404,
        "not_found",
        None,
    ),
    (
        "comment-anonymous",
        None,
        "post",
        "/priorities/{p}/comments",
        {"body": "同意"},
        401,
        "unauthorized",
        None,
    ),
    # POST /flags
    ("flag-empty", "citizen", "post", "/flags", {}, 422, "invalid", "target_type"),
    (
        "flag-bad-type",
        "citizen",
        "post",
        "/flags",
        {"target_type": "user", "target_id": 1},
        422,
        "invalid",
        "target_type",
    ),
    (
        "flag-id-text",
        "citizen",
        "post",
        "/flags",
        {"target_type": "priority", "target_id": "one"},
        422,
        "invalid",
        "target_id",
    ),
    (
        "flag-id-zero",
        "citizen",
        "post",
        "/flags",
        {"target_type": "priority", "target_id": 0},
        422,
        "invalid",
        "target_id",
    ),
    (
        "flag-id-huge",
        "citizen",
        "post",
        "/flags",
        {"target_type": "priority", "target_id": HUGE},
        422,
        "invalid",
        "target_id",
    ),
    (
        "flag-id-null",
        "citizen",
        "post",
        "/flags",
        {"target_type": "priority", "target_id": None},
        422,
        "invalid",
        "target_id",
    ),
    (
        "flag-unknown",
        "citizen",
        "post",
        "/flags",
        {"target_type": "comment", "target_id": 999999},
        404,
        "not_found",
        None,
    ),
    (
        "flag-reason-control",
        "citizen",
        "post",
        "/flags",
        {"target_type": "priority", "target_id": "{p}", "reason": "广告\x08"},
        422,
        "invalid",
        "reason",
    ),
    (
        "flag-reason-long",
        "citizen",
        "post",
        "/flags",
        {"target_type": "priority", "target_id": "{p}", "reason": "广" * 201},
        422,
        "invalid",
        "reason",
    ),
    (
        "flag-draft",
        "citizen",
        "post",
        "/flags",
        {"target_type": "priority", "target_id": "{d}"},
        404,
        "not_found",
        None,
    ),
    (
        "flag-anonymous",
        None,
        "post",
        "/flags",
        {"target_type": "priority", "target_id": "{p}"},
        401,
        "unauthorized",
        None,
    ),
    # POST /moderation/<type>/<id>/<hide|restore>
    (
        "moderate-citizen",
        "citizen",
        "post",
        "/moderation/priority/{p}/hide",
        None,
        403,
        "forbidden",
        None,
    ),
    (
        "moderate-far-facilitator",
        "far_facilitator",
        "post",
        "/moderation/comment/{c}/hide",
        None,
        403,
        "forbidden",
        None,
    ),
    (
        "moderate-unknown",
        "far_facilitator",
        "post",
        "/moderation/priority/999999/hide",
        None,
        404,
        "not_found",
        None,
    ),
    (
        "moderate-anonymous",
        None,
        "post",
        "/moderation/priority/{p}/restore",
        None,
        401,
        "unauthorized",
        None,
    ),
]


def _fill(value: Any, world: dict[str, Any]) -> Any:
    """Replace {p}, {r}, {resident}… placeholders in paths and bodies."""
    if isinstance(value, str) and "{" in value:
        filled = value.format(**world["ids"], **world["residents"])
        whole = value.strip("{}")
        return int(filled) if whole in world["ids"] else filled
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


def _assert_error(response: Any, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert error["message"].strip()
    if field is not None:
        assert field in error["fields"], error
        assert error["fields"][field].strip()


def by_group(cases: list[tuple]) -> dict[str, list[tuple]]:
    """Cases keyed by the endpoint named before the first '-' of their id.

    One test per endpoint, looping over its rows: every test pays for emptying the tables
    (slow on PostgreSQL), and refused writes leave nothing behind for the next row.
    """
    groups: dict[str, list[tuple]] = {}
    for case in cases:
        groups.setdefault(case[0].split("-")[0], []).append(case)
    return groups


API_GROUPS = by_group(API_CASES)


@pytest.mark.parametrize("group", list(API_GROUPS))
def test_api_write_refused_and_nothing_stored(client, world, group):
    for case, actor, method, path, body, status, code, field in API_GROUPS[group]:
        headers = bearer(world["users"][actor]) if actor else {}
        before = row_counts()
        url = "/api/v1" + path.format(**world["ids"])
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = _fill(body, world)
        response = getattr(client, method)(url, **kwargs)
        try:
            _assert_error(response, status, code, field)
        except AssertionError as failure:
            raise AssertionError(f"{case}: {failure}") from None
        db.session.expire_all()
        assert row_counts() == before, case


RAW_BODIES = [
    ("invalid-utf8-json", b'{"title": "\xff\xfe\xfd", "body": "x"}', "application/json"),
    ("truncated-json", b'{"title": "', "application/json"),
    ("json-array", b"[1, 2, 3]", "application/json"),
    ("json-string", b'"title"', "application/json"),
    ("json-number", b"42", "application/json"),
    ("json-null", b"null", "application/json"),
    ("json-nested-too-deep", b"[" * 100_000, "application/json"),
    (
        "invalid-utf8-form",
        b"title=\xff\xfe%FF&body=\xc3\x28&locality_code=430102",
        "application/x-www-form-urlencoded",
    ),
]
RAW_ENDPOINTS = [
    ("post", "/priorities"),
    ("patch", "/priorities/{p}"),
    ("post", "/priorities/{p}/retire"),
    ("post", "/priorities/{p}/supports"),
    ("post", "/priorities/{p}/comments"),
    ("post", "/flags"),
]


@pytest.mark.parametrize(("method", "path"), RAW_ENDPOINTS, ids=[p for _, p in RAW_ENDPOINTS])
def test_api_raw_bodies_refused(client, world, method, path):
    """Broken encodings and non-object JSON: each a 4xx error object, nothing stored."""
    headers = bearer(world["users"]["author"])
    url = "/api/v1" + path.format(**world["ids"])
    for name, raw, content_type in RAW_BODIES:
        if path.endswith("/supports") and content_type != "application/json":
            continue  # a form body to /supports names no fields: an ordinary support
        before = row_counts()
        response = getattr(client, method)(
            url, data=raw, content_type=content_type, headers=headers
        )
        assert 400 <= response.status_code < 500, (name, response.status_code)
        error = response.get_json()["error"]
        assert error["code"] in {"invalid", "encoding", "bad_request"}, (name, error)
        assert error["message"].strip()
        db.session.expire_all()
        assert row_counts() == before, name


def test_cookie_session_api_write_needs_csrf_header(client, world):
    token = sign_in(client, world["users"]["author"])
    before = row_counts()
    refused = client.post("/api/v1/priorities", json=GOOD)
    _assert_error(refused, 400, "csrf", None)
    with client.application.test_request_context():
        assert refused.get_json()["error"]["message"] == gettext(CSRF_MESSAGE)
    assert row_counts() == before
    accepted = client.post("/api/v1/priorities", json=GOOD, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


# Forms. (id, actor, path, fields, status); a valid CSRF token is always added.
FORM_CASES = [
    ("new-empty", "author", "/priorities/new", {}, 422),
    ("new-title-control", "author", "/priorities/new", _with(title="路灯\x00坏了三个月"), 422),
    ("new-title-long", "author", "/priorities/new", _with(title="长" * 81), 422),
    ("new-body-long", "author", "/priorities/new", _with(body="字" * 6001), 422),
    ("new-locality-unknown", "author", "/priorities/new", _with(locality_code="999999"), 404),
    ("new-locality-elsewhere", "author", "/priorities/new", _with(locality_code=ELSEWHERE), 403),
    ("new-category-unknown", "author", "/priorities/new", _with(category="nope"), 422),
    ("new-draft-word", "author", "/priorities/new", _with(draft="perhaps"), 422),
    ("new-unverified", "unverified", "/priorities/new", GOOD, 403),
    ("new-anonymous", None, "/priorities/new", GOOD, 401),
    ("edit-other-user", "citizen", "/priorities/{p}/edit", GOOD, 403),
    ("edit-title-empty", "author", "/priorities/{p}/edit", _with(title=""), 422),
    ("edit-unknown", "author", "/priorities/999999/edit", GOOD, 404),
    ("support-unverified", "unverified", "/priorities/{p}/support", {}, 403),
    ("support-outsider", "outsider", "/priorities/{p}/support", {}, 403),
    ("support-unknown", "citizen", "/priorities/999999/support", {}, 404),
    ("support-anonymous", None, "/priorities/{p}/support", {}, 401),
    ("comment-empty", "citizen", "/priorities/{p}/comments", {"body": ""}, 422),
    ("comment-control", "citizen", "/priorities/{p}/comments", {"body": "好\x1b"}, 422),
    ("comment-long", "citizen", "/priorities/{p}/comments", {"body": "好" * 1001}, 422),
    (
        "comment-parent-text",
        "citizen",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": "x"},
        422,
    ),
    (
        "comment-reply-to-reply",
        "citizen",
        "/priorities/{p}/comments",
        {"body": "同意", "parent_id": "{r}"},
        409,
    ),
    ("comment-unverified", "unverified", "/priorities/{p}/comments", {"body": "同意"}, 403),
    (
        "retire-other-user",
        "citizen",
        "/priorities/{p}/retire",
        {"reason": "done", "explanation": "修好了"},
        403,
    ),
    (
        "retire-bad-reason",
        "author",
        "/priorities/{p}/retire",
        {"reason": "bored", "explanation": "修好了"},
        422,
    ),
    ("retire-no-explanation", "author", "/priorities/{p}/retire", {"reason": "done"}, 422),
    ("flag-unknown", "citizen", "/flag/comment/999999", {}, 404),
    ("flag-draft", "citizen", "/flag/priority/{d}", {}, 404),
    ("flag-reason-control", "citizen", "/flag/priority/{p}", {"reason": "广告\x00"}, 422),
    ("flag-reason-long", "citizen", "/flag/priority/{p}", {"reason": "广" * 201}, 422),
    ("flag-anonymous", None, "/flag/priority/{p}", {}, 401),
    ("moderate-citizen", "citizen", "/moderation/priority/{p}", {"action": "hide"}, 403),
    (
        "moderate-far-facilitator",
        "far_facilitator",
        "/moderation/comment/{c}",
        {"action": "hide"},
        403,
    ),
    ("moderate-unknown", "far_facilitator", "/moderation/comment/999999", {"action": "hide"}, 404),
    (
        "moderate-bad-action",
        "far_facilitator",
        "/moderation/priority/{p}",
        {"action": "delete"},
        422,
    ),
]


FORM_GROUPS = by_group(FORM_CASES)


def form_token(client: Any, world: dict[str, Any], actor: str | None) -> str:
    """Sign the actor in (or stay anonymous) and return a valid CSRF token."""
    if actor:
        return sign_in(client, world["users"][actor])
    with client.session_transaction() as session:
        session.pop("user_id", None)
        session["csrf_token"] = "anonymous-csrf"
    secret = client.application.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps("anonymous-csrf")


@pytest.mark.parametrize("group", list(FORM_GROUPS))
def test_form_refused_with_a_page_and_nothing_stored(client, world, group):
    for case, actor, path, fields, status in FORM_GROUPS[group]:
        token = form_token(client, world, actor)
        before = row_counts()
        data = {name: _fill(value, world) for name, value in fields.items()}
        response = client.post(path.format(**world["ids"]), data={**data, "csrf_token": token})
        assert response.status_code == status, (case, response.get_data(as_text=True)[-400:])
        assert response.mimetype == "text/html", case
        assert "<html" in response.get_data(as_text=True).lower(), case
        db.session.expire_all()
        assert row_counts() == before, case


def test_form_invalid_utf8_refused(client, world):
    """A body that is not UTF-8 cannot be read at all (werkzeug drops it): refused with a page."""
    token = sign_in(client, world["users"]["author"])
    before = row_counts()
    raw = b"csrf_token=" + token.encode() + b"&title=\xff\xfe\xfd\xfc&body=\xc3\x28"
    raw += b"&locality_code=430102"
    pid = world["ids"]["p"]
    for path in ("/priorities/new", f"/priorities/{pid}/edit", f"/priorities/{pid}/comments"):
        response = client.post(path, data=raw, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400, path
        assert response.mimetype == "text/html"
    db.session.expire_all()
    assert row_counts() == before


# Every form a signed-in person can post, with otherwise valid fields.
CSRF_FORMS = [
    ("author", "/priorities/new", GOOD),
    ("author", "/priorities/{p}/edit", GOOD),
    ("citizen", "/priorities/{p}/support", {}),
    ("citizen", "/priorities/{p}/follow", {}),
    ("citizen", "/priorities/{p}/comments", {"body": "同意"}),
    ("author", "/priorities/{p}/retire", {"reason": "done", "explanation": "修好了"}),
    ("citizen", "/flag/priority/{p}", {"reason": "广告"}),
    ("moderator", "/moderation/priority/{p}", {"action": "hide"}),
    ("citizen", "/account", {"display_name": "新名字", "locale": "en"}),
    ("unverified", "/verify", {"code": "123456"}),
    ("citizen", "/logout", {}),
    (
        None,
        "/register",
        {
            "phone": "13912345678",
            "display_name": "新人",
            "password": "secret-pass",
            "locality_code": HOME,
        },
    ),
    (None, "/login", {"phone": "{resident}", "password": "secret-pass"}),
]


def test_every_form_needs_csrf(client, world):
    world["users"]["moderator"] = make_user(roles=(("facilitator", HOME),))
    with client.application.test_request_context():
        expected = str(escape(gettext(CSRF_MESSAGE)))
    for actor, path, fields in CSRF_FORMS:
        form_token(client, world, actor)
        before = row_counts()
        data = {name: _fill(value, world) for name, value in fields.items()}
        response = client.post(path.format(**world["ids"]), data=data)
        assert response.status_code == 400, path
        assert expected in response.get_data(as_text=True), path
        # A wrong token is no better than none.
        response = client.post(path.format(**world["ids"]), data={**data, "csrf_token": "forged"})
        assert response.status_code == 400, path
        db.session.expire_all()
        assert row_counts() == before, path


def test_read_endpoints_with_odd_text_never_fail(client, world):
    """Search boxes and the similar-title hint take any text: a result or a 422, never a 500."""
    odd_texts = ["\x00", "%", "_\\", "' or 1=1 --", "路" * 500, "\ufffd", "a\x1b[2J"]
    for odd, (path, args) in itertools.product(
        odd_texts,
        [
            ("/api/v1/priorities/similar", {"title": None}),
            ("/api/v1/priorities", {"q": None}),
            ("/priorities", {"q": None}),
            ("/api/v1/localities", {"q": None}),
            ("/places/", {"q": None}),
        ],
    ):
        args = dict.fromkeys(args, odd)
        response = client.get(path, query_string=args)
        assert response.status_code in (200, 422), (path, odd, response.status_code)
