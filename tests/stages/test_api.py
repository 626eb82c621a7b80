"""Processes through their stages: templates, gating, advance, extend, tick and opinion groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from massline.extensions import db
from massline.stages.models import Process, Statement, StatementVote
from tests.factories import ELSEWHERE, HOME, PREFECTURE, bearer, make_user

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def open_process(client, headers, **overrides):
    body = {
        "title": "社区微更新",
        "description": "我们社区的公共空间该怎么改？",
        "locality_code": PREFECTURE,
        "template": "vtaiwan",
        "starts_at": START.isoformat(),
    } | overrides
    return client.post("/api/v1/processes", json=body, headers=headers)


@pytest.mark.parametrize(("template", "kinds"), [
    ("vtaiwan", ["proposal", "opinion", "reflection", "decision"]),
    ("chengdu_pb", ["outreach", "ideas", "deliberation", "voting", "implementation", "evaluation"]),
])  # fmt: skip
def test_templates(app, client, template, kinds):
    facilitator = bearer(make_user(roles=(("facilitator", PREFECTURE),)))
    response = open_process(client, facilitator, template=template)
    assert response.status_code == 201
    body = response.get_json()
    assert [s["kind"] for s in body["stages"]] == kinds
    assert body["current_stage"]["kind"] == kinds[0]
    starts = [s["starts_at"] for s in body["stages"]]
    assert starts == sorted(starts) and starts[0].startswith("2026-01-05")


def test_custom_stages_and_refusals(app, client):
    facilitator = bearer(make_user(roles=(("facilitator", HOME),)))
    stages = [
        {"kind": "opinion", "starts_at": "2026-03-01T00:00:00+08:00",
         "ends_at": "2026-03-10T00:00:00+08:00", "actions": ["statement", "vote"]},
        {"kind": "decision", "starts_at": "2026-03-10T00:00:00+08:00",
         "ends_at": "2026-03-20T00:00:00+08:00"},
    ]  # fmt: skip
    made = open_process(client, facilitator, locality_code=HOME, template=None, stages=stages)
    assert made.status_code == 201 and len(made.get_json()["stages"]) == 2
    bad = [
        {"template": "unknown"},
        {"template": None},
        {"template": None, "stages": [{"kind": "x"}]},
        {"template": None, "stages": [{**stages[0], "actions": ["fly"]}]},
        {"template": None, "stages": [stages[1], stages[0]]},
        {"title": ""},
        {"starts_at": "soon"},
    ]
    for overrides in bad:
        assert open_process(client, facilitator, locality_code=HOME, **overrides).status_code == 422
    assert open_process(client, facilitator).status_code == 403  # prefecture outside its scope
    assert open_process(client, bearer(make_user())).status_code == 403
    assert db.session.scalar(select(func.count(Process.id))) == 1


def test_gating_advance_statements_votes_and_groups(app, client):
    facilitator_user = make_user(roles=(("facilitator", PREFECTURE),))
    facilitator = bearer(facilitator_user)
    process = open_process(client, facilitator, starts_at=datetime.now(UTC).isoformat()).get_json()
    pid = process["id"]
    citizen = bearer(make_user())
    early = client.post(
        f"/api/v1/processes/{pid}/statements", json={"text": "应该多种树"}, headers=citizen
    )
    assert early.status_code == 409
    assert "提出建议" in early.get_json()["error"]["message"]  # names the current stage
    seeded = [
        client.post(f"/api/v1/processes/{pid}/statements", json={"text": t}, headers=facilitator)
        for t in ("增加座椅", "增加绿化", "修建停车位", "开辟儿童游乐区", "保留现状")
    ]
    assert all(r.status_code == 201 and r.get_json()["status"] == "approved" for r in seeded)
    vote_early = client.post(
        f"/api/v1/statements/{seeded[0].get_json()['id']}/votes", json={"value": 1}, headers=citizen
    )
    assert vote_early.status_code == 409

    assert client.post(f"/api/v1/processes/{pid}/advance", headers=citizen).status_code == 403
    moved = client.post(
        f"/api/v1/processes/{pid}/advance", json={"reason": "提前进入意见征集"}, headers=facilitator
    )
    assert moved.get_json()["current_stage"]["kind"] == "opinion"
    pending = client.post(
        f"/api/v1/processes/{pid}/statements", json={"text": "应该多种树"}, headers=citizen
    )
    assert pending.get_json()["status"] == "pending"
    approve = client.post(
        f"/api/v1/statements/{pending.get_json()['id']}/moderate",
        json={"status": "approved"},
        headers=facilitator,
    )
    assert approve.status_code == 200
    outsider = bearer(make_user(home_code=ELSEWHERE))
    sid = seeded[0].get_json()["id"]
    assert (
        client.post(
            f"/api/v1/statements/{sid}/votes", json={"value": 1}, headers=outsider
        ).status_code
        == 403
    )
    first = client.post(f"/api/v1/statements/{sid}/votes", json={"value": 1}, headers=citizen)
    again = client.post(f"/api/v1/statements/{sid}/votes", json={"value": -1}, headers=citizen)
    assert (first.status_code, again.status_code) == (201, 200)
    for bad in ({"value": 2}, {"value": "yes"}, {}):
        assert (
            client.post(f"/api/v1/statements/{sid}/votes", json=bad, headers=citizen).status_code
            == 422
        )
    stored = db.session.scalars(
        select(StatementVote.value).where(StatementVote.statement_id == sid)
    ).all()
    assert stored == [-1]

    # Two camps: half want seats and greenery, half want parking; everyone wants a playground.
    ids = [r.get_json()["id"] for r in seeded]
    for i in range(16):
        voter = bearer(make_user())
        camp = i % 2
        for sid_, agree in zip(
            ids, ([1, 1, -1, 1, -1] if camp else [-1, -1, 1, 1, -1]), strict=True
        ):
            client.post(f"/api/v1/statements/{sid_}/votes", json={"value": agree}, headers=voter)
    groups = client.get(f"/api/v1/processes/{pid}/opinion-groups").get_json()
    assert len(groups["groups"]) == 2 and sorted(g["size"] for g in groups["groups"]) == [8, 9]
    consensus = {item["statement"] for item in groups["consensus"]}
    assert ids[3] in consensus  # the playground
    assert {item["statement"] for item in groups["divisive"]} & {ids[0], ids[2]}
    page = client.get(f"/processes/{pid}").get_data(as_text=True)
    assert "意见征集" in page and "开辟儿童游乐区" in page

    for _ in range(2):
        client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)
    last = client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)
    assert last.status_code == 409
    audit = client.get(f"/api/v1/processes/{pid}").get_json()["audit"]
    assert [(a["kind"], a["from"], a["to"]) for a in audit] == [
        ("advance", 0, 1), ("advance", 1, 2), ("advance", 2, 3),
    ]  # fmt: skip
    assert audit[0]["reason"] == "提前进入意见征集" and audit[0]["user_id"] == facilitator_user.id
    assert db.session.scalar(select(func.count(Statement.id))) == 6


def test_tick_advances_on_dates_and_extension_moves_them(app, client):
    facilitator = bearer(make_user(roles=(("facilitator", PREFECTURE),)))
    pid = open_process(client, facilitator).get_json()["id"]
    runner = app.test_cli_runner()

    def tick(when: datetime) -> str:
        result = runner.invoke(args=["tick", "--now", when.isoformat()])
        assert result.exit_code == 0, result.output
        return result.output

    assert "stages_advanced: 0" in tick(START + timedelta(days=13))
    extended = client.post(
        f"/api/v1/processes/{pid}/extend", json={"days": 3, "reason": "春节"}, headers=facilitator
    )
    assert extended.status_code == 200
    assert "stages_advanced: 0" in tick(START + timedelta(days=16))
    assert "stages_advanced: 1" in tick(START + timedelta(days=17, minutes=1))
    assert "stages_advanced: 0" in tick(START + timedelta(days=17, minutes=2))
    assert "stages_advanced: 2" in tick(START + timedelta(days=40))
    db.session.expire_all()
    assert db.session.get(Process, pid).current_stage.kind == "decision"
    kinds = [a["kind"] for a in client.get(f"/api/v1/processes/{pid}").get_json()["audit"]]
    assert kinds == ["extend", "schedule", "schedule", "schedule"]


def test_priorities_supports_and_comments_follow_the_stage(app, client):
    facilitator = bearer(make_user(roles=(("facilitator", PREFECTURE),)))
    pid = open_process(
        client, facilitator, template="chengdu_pb", starts_at=datetime.now(UTC).isoformat()
    ).get_json()["id"]
    author = bearer(make_user())
    idea = {"title": "小区增设充电桩", "body": "电动车越来越多，希望增设充电桩，避免飞线充电。",
            "locality_code": HOME, "process_id": pid}  # fmt: skip
    refused = client.post("/api/v1/priorities", json=idea, headers=author)
    assert refused.status_code == 409 and "收集项目建议" in refused.get_json()["error"]["message"]
    client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)  # → ideas
    made = client.post("/api/v1/priorities", json=idea, headers=author)
    assert made.status_code == 201
    priority_id = made.get_json()["id"]
    assert client.get(f"/api/v1/priorities/{priority_id}").get_json()["process_id"] == pid
    supporter = bearer(make_user())
    early = client.post(f"/api/v1/priorities/{priority_id}/supports", headers=supporter)
    assert early.status_code == 409 and "投票表决" in early.get_json()["error"]["message"]
    comment = client.post(
        f"/api/v1/priorities/{priority_id}/comments", json={"body": "支持"}, headers=supporter
    )
    assert comment.status_code == 201
    for _ in range(2):  # → deliberation → voting
        client.post(f"/api/v1/processes/{pid}/advance", headers=facilitator)
    assert (
        client.post(f"/api/v1/priorities/{priority_id}/supports", headers=supporter).status_code
        == 201
    )
    elsewhere = {**idea, "locality_code": "110101"}
    outside = client.post(
        "/api/v1/priorities", json=elsewhere, headers=bearer(make_user(home_code="110101"))
    )
    assert outside.status_code in (409, 422)
    unknown = client.post("/api/v1/priorities", json={**idea, "process_id": 9999}, headers=author)
    assert unknown.status_code == 404


def test_a_repeated_or_crossing_advance_moves_the_process_once(app, client, live_server):
    import threading

    import requests

    facilitators = [make_user(roles=(("facilitator", PREFECTURE),)) for _ in range(2)]
    headers = [bearer(f) for f in facilitators]
    pid = open_process(client, headers[0]).get_json()["id"]
    body = {"reason": "提前", "from_position": 0}
    first = client.post(f"/api/v1/processes/{pid}/advance", json=body, headers=headers[0])
    replay = client.post(f"/api/v1/processes/{pid}/advance", json=body, headers=headers[0])
    assert (first.status_code, replay.status_code) == (200, 409)
    assert "意见征集" in replay.get_json()["error"]["message"]  # where it already is
    db.session.close()  # SQLite: hold no lock while the server takes the two calls

    # Two facilitators press the button at the same moment: one of them moves it.
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def press(auth: dict) -> None:
        barrier.wait()
        answer = requests.post(
            f"{live_server}/api/v1/processes/{pid}/advance",
            json={"from_position": 1}, headers=auth, timeout=30,
        )  # fmt: skip
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=press, args=(h,)) for h in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    audit = client.get(f"/api/v1/processes/{pid}").get_json()["audit"]
    assert [(a["from"], a["to"]) for a in audit] == [(0, 1), (1, 2)]
    assert db.session.get(Process, pid).current_position == 2
    bad = client.post(
        f"/api/v1/processes/{pid}/advance", json={"from_position": "x"}, headers=headers[0]
    )
    assert bad.status_code == 422
