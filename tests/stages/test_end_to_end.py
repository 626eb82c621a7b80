"""Whole processes, stage by stage on a travelling clock: every action is allowed exactly in the
stages that list it and refused (409, naming the stage) in all others; `tick` moves the stages
on their dates, an extension holds the stage, and the audit log records it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from massline.extensions import db
from massline.feasibility.aftercare import complete
from massline.feasibility.schemas import ReportInput
from massline.feasibility.service import open_reports, publish_report, report_for, update_report
from massline.priorities.service import mark_successful
from massline.stages.models import ACTIONS, Process
from massline.stages.templates import TEMPLATES
from tests.factories import HOME, PREFECTURE, bearer, make_priority, make_user

START = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CUSTOM = [
    ("ideas", "收集想法", ["submit", "comment"], 7),
    ("opinion", "意见征集", ["statement", "vote"], 7),
    ("choice", "投票", ["support"], 5),
    ("review", "评价", ["rate", "comment"], 10),
]


def custom_stages() -> list[dict]:
    stages, start = [], START
    for kind, title, actions, days in CUSTOM:
        end = start + days * DAY
        stages.append({"kind": kind, "title": title, "actions": actions,
                       "starts_at": start.isoformat(), "ends_at": end.isoformat()})  # fmt: skip
        start = end
    return stages


def process_body(kind: str) -> dict:
    body = {"title": "老旧小区改造", "description": "我们小区改造先做什么？",
            "locality_code": PREFECTURE, "starts_at": START.isoformat()}  # fmt: skip
    if kind == "custom":
        return body | {"stages": custom_stages()}
    return body | {"template": kind}


def adopted_and_completed(pid: int) -> int:
    """A priority of the process whose work is reported done: ratings are open, stage permitting."""
    priority = make_priority(title="修好小区路灯")
    priority.process_id = pid
    mark_successful(db.session, priority.id, START)
    open_reports(db.session, START, months=1)
    report = report_for(db.session, "priority", priority.id)
    official = make_user(roles=(("official", HOME),))
    values = {"legality": "lawful", "feasibility": "feasible", "decision": "adopt"}
    update_report(db.session, report, official, ReportInput(values))
    publish_report(db.session, report, official)
    complete(db.session, report, official, "已经完工", START)
    db.session.commit()
    return report.id


class Probe:
    """Tries each action once, as a fresh resident each time, and returns the HTTP status."""

    def __init__(self, client, pid: int, statement_id: int, priority_id: int, report_id: int):
        self.client, self.pid = client, pid
        self.statement_id, self.priority_id, self.report_id = statement_id, priority_id, report_id

    def __call__(self, action: str) -> tuple[int, dict]:
        headers = bearer(make_user())
        post = {
            "submit": ("/api/v1/priorities", {"title": "楼道加装扶手", "locality_code": HOME,
                       "body": "老人上下楼不方便，希望楼道加装扶手。", "process_id": self.pid}),
            "support": (f"/api/v1/priorities/{self.priority_id}/supports", None),
            "comment": (f"/api/v1/priorities/{self.priority_id}/comments", {"body": "同意"}),
            "statement": (f"/api/v1/processes/{self.pid}/statements", {"text": "先修屋顶"}),
            "vote": (f"/api/v1/statements/{self.statement_id}/votes", {"value": 1}),
            "rate": (f"/api/v1/reports/{self.report_id}/ratings", {"stars": 4}),
        }[action]  # fmt: skip
        response = self.client.post(post[0], json=post[1], headers=headers)
        return response.status_code, response.get_json() or {}


def tick(app, when: datetime) -> str:
    result = app.test_cli_runner().invoke(args=["tick", "--now", when.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("kind", ["vtaiwan", "chengdu_pb", "custom"])
def test_a_whole_process_gates_every_action_by_its_stage(app, client, kind):
    with time_machine.travel(START - DAY, tick=False):
        facilitator = make_user(roles=(("facilitator", PREFECTURE),))
        headers = bearer(facilitator)
        made = client.post("/api/v1/processes", json=process_body(kind), headers=headers)
        assert made.status_code == 201, made.get_json()
        pid = made.get_json()["id"]
        seeded = client.post(f"/api/v1/processes/{pid}/statements", json={"text": "先修电梯"},
                             headers=bearer(facilitator))  # fmt: skip
        assert seeded.status_code == 201  # facilitators seed at any time
        open_priority = make_priority(title="小区增设充电桩")
        open_priority.process_id = pid
        db.session.commit()
        probe = Probe(client, pid, seeded.get_json()["id"], open_priority.id,
                      adopted_and_completed(pid))  # fmt: skip

    stages = db.session.get(Process, pid).stages
    plan = [(s.title, list(s.actions), s.starts_at, s.ends_at) for s in stages]
    if kind != "custom":
        assert [s.kind for s in stages] == [t.kind for t in TEMPLATES[kind]]
    extended_at = 1  # the second stage gets two more days
    shift = timedelta()
    for position, (title, actions, starts, ends) in enumerate(plan):
        starts, ends = starts + shift, ends + shift
        midpoint = starts + (ends - starts) / 2
        with time_machine.travel(midpoint, tick=False):
            tick(app, midpoint)
            db.session.expire_all()
            assert db.session.get(Process, pid).current_position == position
            for action in ACTIONS:
                status, body = probe(action)
                if action in actions:
                    assert status in (200, 201), (kind, title, action, body)
                else:
                    assert status == 409, (kind, title, action, status)
                    assert title in body["error"]["message"]
            if position == extended_at:
                extended = client.post(
                    f"/api/v1/processes/{pid}/extend",
                    json={"days": 2, "reason": "节假日"},
                    headers=bearer(facilitator),
                )
                assert extended.status_code == 200
                shift = 2 * DAY
        if position == extended_at:
            # Past the planned end but inside the extension: the stage holds.
            held = ends + DAY
            with time_machine.travel(held, tick=False):
                tick(app, held)
                db.session.expire_all()
                assert db.session.get(Process, pid).current_position == position

    after = plan[-1][3] + shift + 30 * DAY
    with time_machine.travel(after, tick=False):
        tick(app, after)
        audit = client.get(f"/api/v1/processes/{pid}").get_json()["audit"]
    expected = [("schedule", i, i + 1) for i in range(len(plan) - 1)]
    expected.insert(extended_at, ("extend", extended_at, extended_at))
    assert [(a["kind"], a["from"], a["to"]) for a in audit] == expected
    assert audit[extended_at]["reason"] == "节假日"
    assert audit[extended_at]["user_id"] == facilitator.id
    assert all(a["user_id"] is None for a in audit if a["kind"] == "schedule")
