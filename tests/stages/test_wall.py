"""The reflection meeting's wall (posting, polling, moderation) and stage summaries."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from massline import create_app
from massline.extensions import db, limiter
from massline.notifications.models import OutboxMessage
from massline.stages.models import Stage, WallPost
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


def follow(client, pid, **user_fields):
    headers = bearer(make_user(**user_fields))
    assert client.post(f"/api/v1/processes/{pid}/follow", headers=headers).status_code == 201


def outbox() -> list[tuple[str, str]]:
    return list(db.session.execute(select(OutboxMessage.channel, OutboxMessage.subject)).all())


def test_a_summary_is_announced_once_and_corrections_are_marked(app, client):
    facilitator = facilitator_headers()
    process = open_process(client, facilitator)
    pid, stages = process["id"], process["stages"]
    follow(client, pid)
    follow(client, pid, email="li@example.com")
    url = f"/api/v1/processes/{pid}/stages/{stages[0]['id']}/summary"

    first = client.post(
        url, json={"summary": "大家希望多种树。\n\n也要修路灯。"}, headers=facilitator
    )
    assert first.status_code == 201
    assert first.get_json()["outcome"] == "published" and first.get_json()["revised_at"] is None
    sent = outbox()
    assert sorted(channel for channel, _ in sent) == ["email", "inapp", "inapp"]
    assert all("提出建议" in subject for _, subject in sent)

    fixed = client.post(url, json={"summary": "大家希望多种树，也要修路灯。"}, headers=facilitator)
    assert fixed.status_code == 200 and fixed.get_json()["outcome"] == "revised"
    assert fixed.get_json()["revised_at"] and fixed.get_json()["published_at"]
    again = client.post(url, json={"summary": "大家希望多种树，也要修路灯。"}, headers=facilitator)
    assert again.get_json()["outcome"] == "unchanged"
    assert len(outbox()) == 3  # told once, on the first publication only

    page = client.get(f"/processes/{pid}").get_data(as_text=True)
    assert "大家希望多种树，也要修路灯。" in page and f'id="summary-{stages[0]["id"]}"' in page
    assert page.count('class="revised"') == 1


def test_summary_refusals(app, client):
    facilitator = facilitator_headers()
    process = open_process(client, facilitator)
    pid, stages = process["id"], process["stages"]
    other = open_process(client, facilitator)
    follow(client, pid)
    url = f"/api/v1/processes/{pid}/stages/{stages[0]['id']}/summary"
    citizen = bearer(make_user())
    elsewhere = bearer(make_user(roles=(("facilitator", ELSEWHERE),)))
    before = row_counts()
    future = client.post(
        f"/api/v1/processes/{pid}/stages/{stages[1]['id']}/summary",
        json={"summary": "还没开始"},
        headers=facilitator,
    )
    assert future.status_code == 409 and "意见征集" in future.get_json()["error"]["message"]
    for who, status in (({}, 401), (citizen, 403), (elsewhere, 403)):
        assert client.post(url, json={"summary": "总结"}, headers=who).status_code == status
    for summary in ("", "字" * 6001, 7, ["x"]):
        assert client.post(url, json={"summary": summary}, headers=facilitator).status_code == 422
    for stage_id in (other["stages"][0]["id"], 2**40):
        wrong = f"/api/v1/processes/{pid}/stages/{stage_id}/summary"
        assert client.post(wrong, json={"summary": "总结"}, headers=facilitator).status_code == 404
    assert row_counts() == before
    # A finished stage can still get its summary after the process moved on.
    client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)
    assert client.post(url, json={"summary": "总结"}, headers=facilitator).status_code == 201
    assert db.session.get(Stage, stages[0]["id"]).summary == "总结"


def test_pages_post_moderate_and_publish_without_javascript(app, client):
    facilitator_user = make_user(roles=(("facilitator", PREFECTURE),))
    process = open_process(client, bearer(facilitator_user))
    pid, stage_id = process["id"], process["stages"][0]["id"]
    resident = make_user()

    anonymous = client.get(f"/processes/{pid}/wall/comment").get_data(as_text=True)
    assert 'name="body"' not in anonymous and "/login?next=" in anonymous
    token = sign_in(client, resident)
    assert 'name="body"' in client.get(f"/processes/{pid}/wall/comment").get_data(as_text=True)
    sent = client.post(
        f"/processes/{pid}/wall/comment", data={"csrf_token": token, "body": "<b>多种树</b>"}
    )
    assert sent.status_code == 302
    too_long = client.post(
        f"/processes/{pid}/wall/comment", data={"csrf_token": token, "body": "长" * 501}
    )
    assert too_long.status_code == 422
    assert "长" * 501 in too_long.get_data(as_text=True)  # what was typed comes back
    assert client.post(f"/processes/{pid}/wall/comment", data={"body": "x"}).status_code == 400
    assert db.session.scalar(select(func.count(WallPost.id))) == 1

    screen = client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    assert "&lt;b&gt;多种树&lt;/b&gt;" in screen and "<b>多种树" not in screen  # escaped
    assert 'http-equiv="refresh"' in screen and 'data-cursor="1"' in screen
    assert "wall.js" in screen and 'name="status" value="hidden"' not in screen
    assert f"/processes/{pid}/wall/comment" in client.get(f"/processes/{pid}").get_data(
        as_text=True
    )
    assert client.get(f"/processes/{pid}/wall/qr.svg").mimetype == "image/svg+xml"

    post_id = db.session.scalar(select(WallPost.id))
    token = sign_in(client, facilitator_user)
    screen = client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    assert 'name="status" value="hidden"' in screen and 'id="hide-form"' in screen
    hidden = client.post(
        f"/processes/{pid}/wall/{post_id}/moderate",
        data={"csrf_token": token, "status": "hidden", "back": "comment"},
    )
    assert hidden.status_code == 302 and hidden.location.endswith(f"/processes/{pid}/wall/comment")
    assert "多种树" not in client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    mine = client.get(f"/processes/{pid}/wall/comment").get_data(as_text=True)
    assert "多种树" in mine and 'value="visible"' in mine  # facilitators can show it again
    other = open_process(client, bearer(facilitator_user))["id"]
    wrong = client.post(
        f"/processes/{other}/wall/{post_id}/moderate",
        data={"csrf_token": token, "status": "visible"},
    )
    assert wrong.status_code == 404

    summary_url = f"/processes/{pid}/stages/{stage_id}/summary"
    assert 'name="summary"' in client.get(summary_url).get_data(as_text=True)
    empty = client.post(summary_url, data={"csrf_token": token, "summary": "  "})
    assert empty.status_code == 422
    published = client.post(summary_url, data={"csrf_token": token, "summary": "会上大家同意种树"})
    assert published.status_code == 302 and f"#summary-{stage_id}" in published.location
    assert "会上大家同意种树" in client.get(f"/processes/{pid}").get_data(as_text=True)
    sign_in(client, resident)
    assert client.get(summary_url).status_code == 403


def test_the_wall_link_only_while_comments_are_taken(app, client):
    facilitator = facilitator_headers()
    pid = open_process(client, facilitator)["id"]
    for _ in range(3):
        client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)  # → decision
    page = client.get(f"/processes/{pid}").get_data(as_text=True)
    assert f"/processes/{pid}/wall/comment" not in page
    screen = client.get(f"/processes/{pid}/wall").get_data(as_text=True)
    assert 'id="wall-closed"' in screen


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
