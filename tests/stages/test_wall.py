"""The reflection meeting's wall: posting, polling with the cursor, moderation, limits."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from massline import create_app
from massline.extensions import db, limiter
from massline.stages.models import WallPost
from tests.factories import ELSEWHERE, HOME, PREFECTURE, bearer, make_user, row_counts, sign_in


def open_process(client, headers, **overrides) -> dict:
    """A vtaiwan process in 长沙市 whose first stage (proposal, takes comments) began now."""
    body = {
        "title": "社区议事会",
        "description": "公共空间怎么改？",
        "locality_code": PREFECTURE,
        "template": "vtaiwan",
        "starts_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    } | overrides
    made = client.post("/api/v1/processes", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def facilitator_headers() -> dict[str, str]:
    return bearer(make_user(roles=(("facilitator", PREFECTURE),)))


def post(client, pid, headers, body="门口的路灯该修了"):
    return client.post(f"/api/v1/processes/{pid}/wall", json={"body": body}, headers=headers)


def poll(client, pid, after=None) -> dict:
    query = "" if after is None else f"?after={after}"
    answer = client.get(f"/api/v1/processes/{pid}/wall{query}")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.get_json()


def moderate(client, post_id, headers, status):
    return client.post(
        f"/api/v1/wall-posts/{post_id}/moderate", json={"status": status}, headers=headers
    )


def test_screens_follow_new_hidden_and_shown_posts_by_cursor(app, client):
    facilitator = facilitator_headers()
    pid = open_process(client, facilitator)["id"]
    resident = bearer(make_user())
    assert poll(client, pid) == {"items": [], "removed": [], "cursor": 0, "more": False}

    first = post(client, pid, resident, "  希望多装几张长椅\n给老人歇脚  ")
    assert first.status_code == 201
    assert first.get_json()["body"] == "希望多装几张长椅\n给老人歇脚"  # trimmed, lines kept
    opened = poll(client, pid)  # a screen opening now
    assert [p["body"] for p in opened["items"]] == ["希望多装几张长椅\n给老人歇脚"]
    assert set(opened["items"][0]) >= {"id", "body", "created_at", "time", "status"}

    second = post(client, pid, resident, "路灯坏了").get_json()
    after_second = poll(client, pid, opened["cursor"])
    assert [p["id"] for p in after_second["items"]] == [second["id"]]
    assert after_second["removed"] == []
    assert after_second["cursor"] > opened["cursor"]

    assert moderate(client, first.get_json()["id"], facilitator, "hidden").status_code == 200
    after_hide = poll(client, pid, after_second["cursor"])
    assert after_hide["items"] == [] and after_hide["removed"] == [first.get_json()["id"]]
    assert [p["id"] for p in poll(client, pid)["items"]] == [second["id"]]  # gone for new screens
    # Hiding again is a replay: nothing changes, no screen is told anything.
    assert moderate(client, first.get_json()["id"], facilitator, "hidden").status_code == 200
    assert poll(client, pid, after_hide["cursor"])["items"] == []
    assert poll(client, pid, after_hide["cursor"])["cursor"] == after_hide["cursor"]

    shown = moderate(client, first.get_json()["id"], facilitator, "visible")
    assert shown.get_json()["status"] == "visible"
    after_show = poll(client, pid, after_hide["cursor"])
    assert [p["id"] for p in after_show["items"]] == [first.get_json()["id"]]
    assert poll(client, pid, after_show["cursor"]) == {
        "items": [], "removed": [], "cursor": after_show["cursor"], "more": False
    }  # fmt: skip
    # A screen that saw nothing yet gets every post's latest state, each once.
    everything = poll(client, pid, 0)
    assert sorted(p["id"] for p in everything["items"]) == sorted(
        [first.get_json()["id"], second["id"]]
    )


def test_a_long_backlog_comes_in_batches(app, client):
    from massline.stages import service, wall

    pid = open_process(client, facilitator_headers())["id"]
    resident = bearer(make_user())
    for n in range(5):
        assert post(client, pid, resident, f"第{n}条").status_code == 201
    process = service.get_process(db.session, pid)
    batch = wall.wall_changes(db.session, process, 0, limit=3)
    assert [p.body for p in batch.items] == ["第0条", "第1条", "第2条"] and batch.more
    rest = wall.wall_changes(db.session, process, batch.cursor, limit=3)
    assert [p.body for p in rest.items] == ["第3条", "第4条"] and not rest.more
    assert wall.wall_snapshot(db.session, process, limit=2).items[-1].body == "第4条"


def test_posting_only_while_the_stage_takes_comments(app, client):
    facilitator = facilitator_headers()
    start = datetime.now(UTC) - timedelta(hours=1)
    days = [(start + timedelta(days=n)).isoformat() for n in (0, 3, 5, 9)]
    stages = [
        {"kind": "opinion", "title": "意见征集", "starts_at": days[0], "ends_at": days[1],
         "actions": ["statement", "vote"]},
        {"kind": "reflection", "title": "讨论反思", "starts_at": days[1], "ends_at": days[2],
         "actions": ["comment"]},
        {"kind": "decision", "title": "决定与答复", "starts_at": days[2], "ends_at": days[3]},
    ]  # fmt: skip
    pid = open_process(client, facilitator, template=None, stages=stages)["id"]
    resident = bearer(make_user())
    early = post(client, pid, resident)
    assert early.status_code == 409
    message = early.get_json()["error"]["message"]
    assert "意见征集" in message and "讨论反思" in message  # the stage now, and when it opens
    assert client.get(f"/processes/{pid}/wall/comment").get_data(as_text=True).count("意见征集")

    client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)
    assert post(client, pid, resident).status_code == 201
    client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)
    late = post(client, pid, resident)
    assert late.status_code == 409 and "决定与答复" in late.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count(WallPost.id))) == 1


def test_who_may_post_and_moderate(app, client):
    facilitator = facilitator_headers()
    pid = open_process(client, facilitator)["id"]
    assert post(client, pid, {}).status_code == 401
    assert post(client, pid, bearer(make_user(verified=False))).status_code == 403
    assert post(client, pid, bearer(make_user(home_code=ELSEWHERE))).status_code == 403
    made = post(client, pid, bearer(make_user())).get_json()
    assert post(client, pid, facilitator).status_code == 201  # facilitators take part too

    for outsider in (
        {},
        bearer(make_user()),
        bearer(make_user(roles=(("facilitator", ELSEWHERE),))),
        bearer(make_user(roles=(("facilitator", HOME),))),  # 芙蓉区 does not contain 长沙市
    ):
        refused = moderate(client, made["id"], outsider, "hidden")
        assert refused.status_code in (401, 403) and refused.get_json()["error"]["message"]
    assert poll(client, pid, 0)["removed"] == []
    admin = bearer(make_user(roles=(("admin", "000000"),)))
    assert moderate(client, made["id"], admin, "hidden").status_code == 200


def test_bad_input_is_refused_and_stores_nothing(app, client):
    facilitator = facilitator_headers()
    pid = open_process(client, facilitator)["id"]
    resident = bearer(make_user())
    made = post(client, pid, resident).get_json()
    before = row_counts()
    for body in ("", "   ", "字" * 501, 42, ["字"], {"a": 1}, None, "坏\x00字", "坏\ufffd字"):
        refused = client.post(
            f"/api/v1/processes/{pid}/wall", json={"body": body}, headers=resident
        )
        assert refused.status_code == 422, body
        assert "body" in refused.get_json()["error"]["fields"]
    for raw, kind in ((b"\xff\xfe{", "application/json"), (b"[1]", "application/json")):
        refused = client.post(
            f"/api/v1/processes/{pid}/wall", data=raw, content_type=kind, headers=resident
        )
        assert refused.status_code in (400, 422)
    assert post(client, 2**31 + 5, resident).status_code == 404
    assert post(client, pid + 1000, resident).status_code == 404
    for after in ("-1", "abc", str(2**40), "1.5"):
        refused = client.get(f"/api/v1/processes/{pid}/wall?after={after}")
        assert refused.status_code == 422 and "after" in refused.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/processes/{pid + 1000}/wall").status_code == 404
    for status in ("deleted", "", 1, None):
        assert moderate(client, made["id"], facilitator, status).status_code == 422
    assert moderate(client, made["id"] + 1000, facilitator, "hidden").status_code == 404
    assert moderate(client, 99_999_999_999, facilitator, "hidden").status_code == 404
    assert row_counts() == before
    assert post(client, pid, resident, "字" * 500).status_code == 201  # the limit itself is fine


def test_posting_is_rate_limited_per_person_across_page_and_api(app, app_config):
    limited = create_app(
        {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_WALL": "3 per minute"}
    )
    try:
        with limited.app_context():
            client = limited.test_client()
            pid = open_process(client, facilitator_headers())["id"]
            resident, neighbour = make_user(), make_user()
            headers = bearer(resident)
            statuses = [post(client, pid, headers).status_code for _ in range(3)]
            token = sign_in(client, resident)
            form = client.post(
                f"/processes/{pid}/wall/comment", data={"csrf_token": token, "body": "再说一句"}
            )
            assert statuses == [201, 201, 201] and form.status_code == 429
            assert post(client, pid, headers).status_code == 429
            assert post(client, pid, bearer(neighbour)).status_code == 201  # per person
            assert db.session.scalar(select(func.count(WallPost.id))) == 4
            db.session.remove()
    finally:
        # The limiter is one module-level object: put the session app's setting back.
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        limiter.reset()
        with limited.app_context():
            db.engine.dispose()


def _send(base_url: str, path: str, token: str, payload: dict) -> int:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(payload),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_concurrent_posts_and_moderation_get_distinct_revisions(app, client, live_server):
    facilitator = facilitator_headers()
    pid = open_process(client, facilitator)["id"]
    target = post(client, pid, bearer(make_user())).get_json()["id"]
    writers = [bearer(make_user())["Authorization"][7:] for _ in range(4)]
    moderator = facilitator["Authorization"][7:]
    statuses: list[int] = []

    def write(token: str) -> None:
        for n in range(5):
            statuses.append(
                _send(live_server, f"/api/v1/processes/{pid}/wall", token, {"body": f"第{n}条"})
            )

    def flip() -> None:
        for n in range(6):
            status = "hidden" if n % 2 == 0 else "visible"
            statuses.append(
                _send(
                    live_server,
                    f"/api/v1/wall-posts/{target}/moderate",
                    moderator,
                    {"status": status},
                )
            )

    threads = [threading.Thread(target=write, args=(t,)) for t in writers]
    threads.append(threading.Thread(target=flip))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [200, 201] and len(statuses) == 26
    db.session.expire_all()
    revisions = sorted(db.session.scalars(select(WallPost.revision)))
    # 21 posts and 6 changes of state: every change has its own number, none skipped.
    assert revisions[-1] == 27 and len(set(revisions)) == 21
    everything = poll(client, pid, 0)
    assert len(everything["items"]) == 21 and everything["cursor"] == 27
