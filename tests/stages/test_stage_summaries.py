"""Stage summaries: published once to followers, corrections marked revised, refusals."""

from __future__ import annotations

from sqlalchemy import select

from massline.extensions import db
from massline.notifications.models import OutboxMessage
from massline.stages.models import Stage
from tests.factories import ELSEWHERE, PREFECTURE, bearer, make_user, row_counts, sign_in
from tests.stages.test_wall import facilitator_headers, open_process


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


def test_the_summary_page_form(app, client):
    facilitator = make_user(roles=(("facilitator", PREFECTURE),))
    process = open_process(client, bearer(facilitator))
    pid, stage_id = process["id"], process["stages"][0]["id"]
    resident = make_user()
    token = sign_in(client, facilitator)
    page = client.get(f"/processes/{pid}").get_data(as_text=True)
    assert 'id="summary-links"' in page and 'class="revised"' not in page
    summary_url = f"/processes/{pid}/stages/{stage_id}/summary"
    assert 'name="summary"' in client.get(summary_url).get_data(as_text=True)
    empty = client.post(summary_url, data={"csrf_token": token, "summary": "  "})
    assert empty.status_code == 422
    published = client.post(summary_url, data={"csrf_token": token, "summary": "会上大家同意种树"})
    assert published.status_code == 302 and f"#summary-{stage_id}" in published.location
    assert "会上大家同意种树" in client.get(f"/processes/{pid}").get_data(as_text=True)
    sign_in(client, resident)
    assert client.get(summary_url).status_code == 403
