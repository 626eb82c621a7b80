"""Every documented write call of the API, fed wrong types, huge, empty and broken bodies by
someone allowed to make it: never a server error, always a JSON answer (an error object when
refused)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from massline.accounts.models import User
from massline.api.openapi import OPERATIONS
from massline.extensions import db
from massline.matching.models import Idea
from massline.models_common import utcnow
from massline.stages import statements
from massline.stages.models import WallPost
from tests.factories import PREFECTURE, bearer, make_priority, make_user
from tests.stages.test_statements import opinion_process

WRITES = [op for op in OPERATIONS if op[0] in ("post", "patch", "delete")]
VALUES = [None, {"a": {"b": 1}}, [1, [2]], "x" * 100_001, 10**20, -1, True, "\x00", "", 1.5]
RAW = [
    (b"[" * 100_000, "application/json"),
    (b'{"text": "\xff\xfe"}', "application/json"),
    (b'{"text": ', "application/json"),
    (b"[1, 2]", "application/json"),
    (b"null", "application/json"),
    (b"text=\xff\xfe%FF", "application/x-www-form-urlencoded"),
]


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """One person holding every staff role, and one of each thing a path can name."""
    process, made, facilitator = opinion_process()
    for role in ("planner", "admin", "official", "community_worker"):
        from massline.accounts.service import grant_role

        grant_role(db.session, facilitator, role, "000000" if role != "official" else PREFECTURE)
    citizen = make_user()
    post = WallPost(process_id=process.id, stage_id=process.stages[0].id, author_id=citizen.id,
                    body="多装几张长椅", status="visible", revision=1)  # fmt: skip
    db.session.add(post)
    statements.vote(db.session, citizen, made[0], 1, utcnow())
    priority = make_priority(citizen)
    idea = Idea(title="老旧小区加装电梯", body="方便老人上下楼", level="county",
                created_by_id=facilitator.id)  # fmt: skip
    db.session.add(idea)
    db.session.commit()
    ids = {
        "processes": process.id, "stages": process.stages[0].id, "statements": made[0].id,
        "wall-posts": post.id, "priorities": priority.id, "ideas": idea.id,
    }  # fmt: skip
    return {"headers": bearer(facilitator), "ids": ids, "stage": process.stages[0].id,
            "user_id": facilitator.id}  # fmt: skip


def _url(path: str, world: dict[str, Any]) -> str:
    head = path.strip("/").split("/")[0]
    filled = path.replace("{id}", str(world["ids"].get(head, 999_999)))
    filled = filled.replace("{stage_id}", str(world["stage"])).replace("{run_id}", "999999")
    return "/api/v1" + filled


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code)
    body = response.get_json(silent=True)
    assert body is not None, (what, response.status_code, response.data[:200])
    if response.status_code >= 400:
        assert body["error"]["message"].strip(), what


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, *_ in WRITES])
def test_no_body_crashes_a_write(client, world, method: str, path: str) -> None:
    spec = next(props for m, p, _s, props, _ok in WRITES if (m, p) == (method, path)) or {}
    url, send = _url(path, world), getattr(client, method)
    for field in spec:
        for value in VALUES:
            response = send(url, json={field: value}, headers=world["headers"])
            _check(response, f"{method} {path} {field}={str(value)[:20]!r}")
            db.session.rollback()
    for raw, content_type in RAW:
        response = send(url, data=raw, content_type=content_type, headers=world["headers"])
        _check(response, f"{method} {path} raw {raw[:20]!r}")
    huge = url.rsplit("/", 1)[0] + "/" + str(2**40) if url.rstrip("/")[-1].isdigit() else url
    _check(send(huge, json={}, headers=world["headers"]), f"{method} {path} huge id")


def test_ids_beyond_the_columns_are_404_on_every_route(app: Flask, client) -> None:
    """Pages and API alike, both databases: a 404, never the database's out-of-range error."""
    import re

    checked = 0
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        url = re.sub(r"<int:\w+>", str(2**40), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 404, (method, url, response.status_code)
            checked += 1
    assert checked > 50


FORM_FIELDS = ("title", "body", "text", "reason", "days", "status", "value", "summary",
               "briefing", "stop", "strict", "from", "from_position", "locality_code",
               "template", "starts_at", "stars", "comment", "codes", "k")  # fmt: skip
FORM_VALUES = ["", "x" * 100_001, "-1", "99999999999999999999", "\x00", "1.5", "是"]


def test_no_form_post_crashes_a_page(app: Flask, client, world) -> None:
    """Every page form, posted with odd values by a signed-in member of staff: never a 500."""
    import re

    from tests.factories import sign_in

    staff = db.session.get(User, world["user_id"])
    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        url = re.sub(r"<int:(\w+)>", lambda m: str(_id_for(m.group(1), world)), rule.rule)
        if "<" in url:
            continue
        for value in FORM_VALUES:
            token = sign_in(client, staff)  # again each time: one of the forms signs out
            form = {"csrf_token": token} | dict.fromkeys(FORM_FIELDS, value)
            response = client.post(url, data=form)
            assert response.status_code < 500, (url, repr(value[:20]), response.status_code)
            db.session.rollback()
            checked += 1
    assert checked > 100


def _id_for(name: str, world: dict[str, Any]) -> int:
    """The world's row for a route's id parameter (999999, a row that does not exist, if none)."""
    table = {"process_id": "processes", "stage_id": "stages", "statement_id": "statements",
             "post_id": "wall-posts", "priority_id": "priorities", "idea_id": "ideas"}  # fmt: skip
    return world["ids"].get(table.get(name, ""), 999_999)
