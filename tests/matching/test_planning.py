"""The planner's workflow over HTTP: idea → match run → designate → refuse → next site."""

from __future__ import annotations

from sqlalchemy import func, select

from massline.extensions import db
from massline.feasibility.models import Report
from massline.matching import planning
from massline.matching.models import MatchRun, Pilot
from massline.matching.service import MatchRequest, locality_data
from massline.models_common import utcnow
from massline.notifications.models import OutboxMessage
from tests.factories import HOME, bearer, make_user, sign_in
from tests.matching.test_service import seed

IDEA = {
    "title": "老旧小区加装电梯",
    "body": "为老旧小区加装电梯，方便老人上下楼。",
    "level": "county",
}


def test_idea_to_pilots(app, client):
    seed()
    planner = bearer(make_user(roles=(("planner", "000000"),)))
    idea = client.post("/api/v1/ideas", json=IDEA, headers=planner)
    assert idea.status_code == 201
    idea_id = idea.get_json()["id"]
    run = client.post(
        f"/api/v1/ideas/{idea_id}/match",
        json={"k": 2, "min_participants": 3, "tradeoff": True},
        headers=planner,
    )
    assert run.status_code == 201
    body = run.get_json()
    assert body["ranking"][0]["code"] == HOME and len(body["portfolio"]) == 2
    assert [point["delta"] for point in body["tradeoff"]] == [0.05, 0.1, 0.25, None]
    for pair in body["comparisons"]:
        assert pair["comparison"] is None or pair["comparison"][:4] != pair["pilot"][:4]
    lift_id = body["ranking"][0]["evidence"][0]["id"]
    without = client.post(
        f"/api/v1/ideas/{idea_id}/match",
        json={"k": 2, "min_participants": 3, "false_matches": [lift_id]},
        headers=planner,
    ).get_json()
    home = next(r for r in without["ranking"] if r["code"] == HOME)
    assert all(e["id"] != lift_id for e in home["evidence"])
    assert home["supporters"] < body["ranking"][0]["supporters"]
    run_id = body["run_id"]
    stored = db.session.get(MatchRun, run_id)
    assert stored.params["k"] == 2 and stored.result["ranking"][0]["code"] == HOME

    made = client.post(
        f"/api/v1/ideas/{idea_id}/runs/{run_id}/designate", json={"codes": [HOME]}, headers=planner
    )
    assert made.status_code == 201
    pilot_id = made.get_json()["pilots"][0]["id"]
    report = db.session.scalar(select(Report).where(Report.subject_type == "pilot"))
    assert (report.subject_id, report.locality_code, report.status) == (pilot_id, HOME, "open")
    told = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.body.like("%试点%"))
    )
    assert told >= 13  # the lift priority's author and its 12 supporters
    again = client.post(
        f"/api/v1/ideas/{idea_id}/runs/{run_id}/designate", json={"codes": [HOME]}, headers=planner
    )
    assert again.status_code == 409

    refused = client.post(
        f"/api/v1/pilots/{pilot_id}/refuse", json={"reason": "财力不足"}, headers=planner
    )
    assert refused.status_code == 200
    answer = refused.get_json()
    assert answer["status"] == "refused"
    assert answer["next"] is None or answer["next"]["code"] != HOME
    assert db.session.get(Pilot, pilot_id).status == "refused"


def test_only_planners_and_bad_input(app, client):
    citizen = bearer(make_user())
    assert client.post("/api/v1/ideas", json=IDEA, headers=citizen).status_code == 403
    planner = bearer(make_user(roles=(("planner", "000000"),)))
    for bad in ({}, {**IDEA, "level": "village"}, {**IDEA, "title": 5}, {**IDEA, "body": ""}):
        assert client.post("/api/v1/ideas", json=bad, headers=planner).status_code == 422
    idea_id = client.post("/api/v1/ideas", json=IDEA, headers=planner).get_json()["id"]
    bad_runs = (
        {"k": 0}, {"k": "ten"}, {"exclude": "abc"}, {"exclude": ["999999"]},
        {"false_matches": ["x"]}, {"tradeoff": "maybe"},
    )  # fmt: skip
    for bad in bad_runs:
        response = client.post(f"/api/v1/ideas/{idea_id}/match", json=bad, headers=planner)
        assert response.status_code == 422, bad
    assert client.post("/api/v1/ideas/999/match", json={}, headers=planner).status_code == 404
    assert db.session.scalar(select(func.count(MatchRun.id))) == 0


def test_planner_pages(app, client):
    seed()
    token = sign_in(client, make_user(roles=(("planner", "000000"),)))
    created = client.post("/ideas/", data={**IDEA, "csrf_token": token})
    assert created.status_code == 302
    page = client.get(created.headers["Location"])
    assert page.status_code == 200
    idea_path = created.headers["Location"]
    ran = client.post(
        idea_path + "/match", data={"k": "2", "min_participants": "3", "csrf_token": token}
    )
    assert ran.status_code == 302
    html = client.get(ran.headers["Location"]).get_data(as_text=True)
    assert 'id="ranking"' in html and "老旧小区加装电梯" in html


def test_results_are_strict_json(app, client):
    import json

    seed()
    planner = bearer(make_user(roles=(("planner", "000000"),)))
    idea_id = client.post("/api/v1/ideas", json=IDEA, headers=planner).get_json()["id"]
    run = client.post(
        f"/api/v1/ideas/{idea_id}/match", json={"k": 1, "min_participants": 3}, headers=planner
    )
    json.loads(
        run.get_data(as_text=True), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))
    )


def test_existing_pilots_are_counted_against_a_place(app):

    seed()
    planner = make_user(roles=(("planner", "000000"),))

    idea = planning.create_idea(
        db.session, planner, title="试点一", body="加装电梯", level="county"
    )
    run = planning.run_match(
        db.session, planner, idea, MatchRequest(text="加装电梯", k=1, min_participants=3)
    )
    planning.designate(db.session, planner, run, [HOME], utcnow(), months=1)
    data = locality_data(db.session, "county")
    counts = dict(zip(data.codes.tolist(), data.pilot_counts.tolist(), strict=True))
    assert counts[HOME] == 1 and sum(counts.values()) == 1
