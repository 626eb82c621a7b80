"""A priority's report from success to publication, driven by `tick --now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from massline.extensions import db
from massline.feasibility.clock import CHINA
from massline.feasibility.models import Report, ReportNotice
from massline.notifications.models import OutboxMessage
from massline.priorities.models import Priority
from massline.priorities.service import support
from tests.factories import HOME, PREFECTURE, bearer, make_priority, make_user, sign_in

COMPLETE = {
    "legality": "lawful",
    "legal_basis": "《城市道路照明设施管理规定》",
    "feasibility": "feasible",
    "feasibility_explanation": "更换灯具即可。",
    "cost_estimate": "12000",
    "cost_low": 10000,
    "cost_high": "15,000.50",
    "cost_breakdown": [{"item": "灯具", "amount": 8000}, {"item": "人工", "amount": "4000"}],
    "duration_months": 1,
    "department": "区城管局",
    "decision": "adopt",
}


def tick(app, when: datetime) -> str:
    result = app.test_cli_runner().invoke(args=["tick", "--now", when.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def successful_priority(at: datetime) -> Priority:
    priority = make_priority(threshold_floor=2)
    for _ in range(2):
        support(db.session, priority.id, make_user(), now=at)
    db.session.commit()
    db.session.refresh(priority)
    assert priority.status == "successful"
    return priority


def messages_to(user) -> list[str]:
    query = select(OutboxMessage.body).where(OutboxMessage.user_id == user.id)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def test_whole_life_with_reminders_escalation_and_publication(app, client):
    county_official = make_user(roles=(("official", HOME),))
    city_official = make_user(roles=(("official", PREFECTURE),))
    # Success at 20:00 UTC on 31 Jan = 1 Feb 04:00 in Beijing: due by the end of 1 Mar.
    success = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
    priority = successful_priority(success)

    assert "reports_opened: 1" in tick(app, success + timedelta(minutes=5))
    report = db.session.scalar(select(Report))
    assert report.due_at.astimezone(CHINA) == datetime(2026, 3, 2, tzinfo=CHINA)
    assert "reports_opened: 0" in tick(app, success + timedelta(minutes=10))

    due = report.due_at
    assert "report_notices: 0" in tick(app, due - timedelta(days=7, minutes=1))
    assert "report_notices: 1" in tick(app, due - timedelta(days=7))
    assert "report_notices: 0" in tick(app, due - timedelta(days=6))
    assert "report_notices: 1" in tick(app, due - timedelta(days=1))
    assert "report_notices: 1" in tick(app, due)
    assert "report_notices: 0" in tick(app, due + timedelta(days=6))
    assert "report_notices: 1" in tick(app, due + timedelta(days=7))
    assert "report_notices: 0" in tick(app, due + timedelta(days=30))

    county = messages_to(county_official)
    assert len(county) == 3 and "7 天后到期" in county[0] and "明天到期" in county[1]
    assert "已逾期" in county[2]
    city = messages_to(city_official)
    # The city's official hears the county's reminders too (scope contains it), plus the
    # escalation, which the county official does not get.
    assert len(city) == 4 and "督办" in city[3]
    kinds = db.session.scalars(select(ReportNotice.kind).order_by(ReportNotice.id)).all()
    assert kinds == ["remind_7d", "remind_1d", "overdue", "escalate"]

    listed = client.get("/api/v1/reports", query_string={"overdue": "true"}).get_json()
    assert listed["total"] == 1 and listed["items"][0]["overdue"] is True

    headers = bearer(county_official)
    assert (
        client.patch(f"/api/v1/reports/{report.id}", json=COMPLETE, headers=headers).status_code
        == 200
    )
    published = client.post(f"/api/v1/reports/{report.id}/publish", headers=headers)
    assert published.status_code == 200
    body = published.get_json()
    assert body["status"] == "published" and body["overdue"] is False
    assert body["cost_high"] == "15000.50"
    db.session.expire_all()
    assert db.session.get(Priority, priority.id).status == "adopted"
    author_messages = messages_to(priority.author)
    assert len(author_messages) == 1 and "可行性报告已公布" in author_messages[0]
    supporters_told = db.session.scalar(
        select(func.count()).where(OutboxMessage.subject == "可行性报告已公布")
    )
    assert supporters_told == 3  # author and two supporters, once each
    assert "report_notices: 0" in tick(app, due + timedelta(days=40))

    again = client.post(f"/api/v1/reports/{report.id}/publish", headers=headers)
    assert again.status_code == 409  # nothing changed: no empty revision
    fix = {"cost_estimate": 13000, "decision_reasons": "追加预算"}
    client.patch(f"/api/v1/reports/{report.id}", json=fix, headers=headers)
    corrected = client.post(
        f"/api/v1/reports/{report.id}/publish", json={"note": "更正费用"}, headers=headers
    ).get_json()
    assert corrected["revision"] == 2 and corrected["cost_estimate"] == "13000.00"
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "更正费用" in page


@pytest.mark.parametrize(
    ("who", "status"), [("citizen", 403), ("outsider_official", 403), ("nobody", 401)]
)
def test_only_officials_in_scope_write_or_publish(app, client, who, status):
    priority = successful_priority(datetime(2026, 5, 1, tzinfo=UTC))
    tick(app, datetime(2026, 5, 1, 1, tzinfo=UTC))
    report_id = db.session.scalar(select(Report.id))
    users = {
        "citizen": make_user(),
        "outsider_official": make_user(home_code="110101", roles=(("official", "110101"),)),
    }
    headers = bearer(users[who]) if who in users else {}
    edit = client.patch(f"/api/v1/reports/{report_id}", json=COMPLETE, headers=headers)
    publish = client.post(f"/api/v1/reports/{report_id}/publish", headers=headers)
    assert (edit.status_code, publish.status_code) == (status, status)
    db.session.expire_all()
    report = db.session.get(Report, report_id)
    assert report.status == "open" and report.legality is None
    assert priority.id == report.subject_id


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"legality": "maybe"}, "legality"),
        ({"cost_estimate": "lots"}, "cost_estimate"),
        ({"cost_estimate": -5}, "cost_estimate"),
        ({"cost_low": 10, "cost_high": 5}, "cost_high"),
        ({"duration_months": "x"}, "duration_months"),
        ({"cost_breakdown": "not a list"}, "cost_breakdown"),
        ({"legal_basis": "\x00bad"}, "legal_basis"),
        ({"department": "x" * 121}, "department"),
    ],
)
def test_bad_report_input_is_refused_and_nothing_changes(app, client, payload, field):
    successful_priority(datetime(2026, 5, 1, tzinfo=UTC))
    tick(app, datetime(2026, 5, 1, 1, tzinfo=UTC))
    report_id = db.session.scalar(select(Report.id))
    official = make_user(roles=(("official", HOME),))
    response = client.patch(f"/api/v1/reports/{report_id}", json=payload, headers=bearer(official))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Report, report_id).status == "open"


def test_declining_needs_reasons_and_publishing_needs_verdicts(app, client):
    successful_priority(datetime(2026, 5, 1, tzinfo=UTC))
    tick(app, datetime(2026, 5, 1, 1, tzinfo=UTC))
    report_id = db.session.scalar(select(Report.id))
    headers = bearer(make_user(roles=(("official", HOME),)))
    incomplete = client.post(f"/api/v1/reports/{report_id}/publish", headers=headers)
    assert incomplete.status_code == 422
    assert {"legality", "feasibility", "decision"} <= incomplete.get_json()["error"][
        "fields"
    ].keys()
    decline = {**COMPLETE, "decision": "decline"}
    client.patch(f"/api/v1/reports/{report_id}", json=decline, headers=headers)
    refused = client.post(f"/api/v1/reports/{report_id}/publish", headers=headers)
    assert "decision_reasons" in refused.get_json()["error"]["fields"]
    client.patch(
        f"/api/v1/reports/{report_id}", json={"decision_reasons": "超出区级权限"}, headers=headers
    )
    assert client.post(f"/api/v1/reports/{report_id}/publish", headers=headers).status_code == 200


def test_official_publishes_through_the_page_and_dashboard_counts(app, client):
    successful_priority(datetime(2026, 5, 1, tzinfo=UTC))
    tick(app, datetime(2026, 5, 1, 1, tzinfo=UTC))
    report_id = db.session.scalar(select(Report.id))
    official = make_user(roles=(("official", HOME),))
    token = sign_in(client, official)
    form = {k: v for k, v in COMPLETE.items() if k != "cost_breakdown"}
    response = client.post(
        f"/reports/{report_id}", data={**form, "csrf_token": token, "action": "publish"}
    )
    assert response.status_code == 302
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "区城管局" in page
    figures = client.get(f"/api/v1/localities/{PREFECTURE}/reports-dashboard").get_json()
    assert figures["opened"] == 1 and figures["published"] == 1
    assert client.get("/reports/", query_string={"locality": PREFECTURE}).status_code == 200
    no_token = client.post(f"/reports/{report_id}", data={**form, "action": "publish"})
    assert no_token.status_code == 400


def test_csv_export_and_monthly_figures(app, client):
    successful_priority(datetime(2026, 5, 1, tzinfo=UTC))
    tick(app, datetime(2026, 5, 1, 1, tzinfo=UTC))
    response = client.get("/reports/export.csv", query_string={"locality": PREFECTURE})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffid,subject_type")
    rows = text.strip().splitlines()
    assert len(rows) == 2 and ",430102,open," in rows[1] and rows[1].split(",")[8] == "1"
    assert (
        client.get("/reports/export.csv", query_string={"locality": "110000"})
        .get_data(as_text=True)
        .strip()
        .count("\n")
        == 0
    )
    figures = client.get(f"/api/v1/localities/{PREFECTURE}/reports-dashboard").get_json()
    assert len(figures["months"]) == 12 and figures["overdue_now"] == 1
    assert client.get("/reports/").status_code == 200
