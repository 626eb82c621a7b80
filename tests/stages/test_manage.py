"""Facilitator pages: the new-consultation form and every form of the manage page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from massline.extensions import db
from massline.notifications.models import OutboxMessage
from massline.stages import updates
from massline.stages.models import Process, ProcessUpdate, Stage, Statement
from massline.stages.service import audit_log
from tests.factories import ELSEWHERE, HOME, PREFECTURE, bearer, make_user, row_counts, sign_in
from tests.stages.test_briefings import facilitating, open_process


def new_form(token: str, **overrides: str) -> dict:
    return {
        "csrf_token": token,
        "title": "老旧小区加装电梯",
        "description": "哪些楼先装？费用怎么分？",
        "locality_code": HOME,
        "template": "vtaiwan",
        "starts_at": "2026-03-01",
    } | overrides


def test_new_page_is_for_facilitators_and_offers_their_places(app, client):
    assert client.get("/processes/new").status_code == 401
    sign_in(client, make_user())
    assert client.get("/processes/new").status_code == 403
    sign_in(client, make_user(roles=(("facilitator", PREFECTURE),)))
    page = client.get("/processes/new").get_data(as_text=True)
    assert 'value="430100"' in page and 'value="430102"' in page and "芙蓉区" in page
    assert 'name="stage-5-kind"' in page and 'name="stage-6-kind"' not in page
    assert 'name="csrf_token"' in page


def test_home_links_facilitators_to_the_new_page(app, client):
    sign_in(client, make_user())
    assert "/processes/new" not in client.get("/").get_data(as_text=True)
    sign_in(client, make_user(roles=(("facilitator", HOME),)))
    assert "/processes/new" in client.get("/").get_data(as_text=True)


def test_new_from_a_template_starts_at_local_midnight_and_goes_to_manage(app, client):
    token = sign_in(client, make_user(roles=(("facilitator", PREFECTURE),)))
    made = client.post("/processes/new", data=new_form(token))
    assert made.status_code == 302
    process = db.session.scalars(select(Process)).one()
    assert made.headers["Location"].endswith(f"/processes/{process.id}/manage")
    assert [s.kind for s in process.stages] == ["proposal", "opinion", "reflection", "decision"]
    # 2026-03-01 00:00 in Asia/Shanghai
    assert process.stages[0].starts_at == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert process.locality_code == HOME and process.template == "vtaiwan"
    manage = client.get(made.headers["Location"]).get_data(as_text=True)
    assert 'class="flash"' in manage and "老旧小区加装电梯" in manage


def test_new_with_custom_rows_uses_only_filled_rows(app, client):
    token = sign_in(client, make_user(roles=(("facilitator", HOME),)))
    rows = {
        "stage-0-kind": "opinion", "stage-0-title": "说说看法", "stage-0-starts_at": "2026-03-01",
        "stage-0-ends_at": "2026-03-10", "stage-0-actions": ["statement", "vote"],
        "stage-2-kind": "decision", "stage-2-starts_at": "2026-03-10",
        "stage-2-ends_at": "2026-03-20",
    }  # fmt: skip
    made = client.post("/processes/new", data=new_form(token, template="custom") | rows)
    assert made.status_code == 302
    process = db.session.scalars(select(Process)).one()
    assert [(s.kind, s.title, s.actions) for s in process.stages] == [
        ("opinion", "说说看法", ["statement", "vote"]),
        ("decision", "decision", []),
    ]
    assert process.template == "custom"
    assert process.stages[1].ends_at == datetime(2026, 3, 19, 16, 0, tzinfo=UTC)


ROW = {
    "stage-0-kind": "opinion",
    "stage-0-starts_at": "2026-03-01",
    "stage-0-ends_at": "2026-03-09",
}


@pytest.mark.parametrize(("overrides", "status", "shown"), [
    ({"title": ""}, 422, "title-error"),
    ({"title": "长" * 121}, 422, "title-error"),
    ({"description": "  "}, 422, "description-error"),
    ({"title": "坏\x00字"}, 422, "title-error"),
    ({"starts_at": "next week"}, 422, "starts_at-error"),
    ({"starts_at": "0001-01-01"}, 422, "starts_at-error"),
    ({"starts_at": "9999-12-31"}, 422, "starts_at-error"),
    ({"template": "custom", **ROW, "stage-0-starts_at": "0001-01-01"}, 422, "stages-error"),
    ({"template": ""}, 422, "template-error"),
    ({"template": "madrid"}, 422, "template-error"),
    ({"template": "custom"}, 422, "stages-error"),
    ({"template": "custom", **ROW, "stage-0-ends_at": ""}, 422, "stages-error"),
    ({"template": "custom", **ROW, "stage-0-ends_at": "2026-02-01"}, 422, "stages-error"),
    ({"template": "custom", **ROW, "stage-0-actions": "fly"}, 422, "stages-error"),
    ({"template": "custom", **ROW, "stage-0-kind": ""}, 422, "stages-error"),
    ({"locality_other": ELSEWHERE}, 403, "东城区"),
    ({"locality_code": PREFECTURE}, 403, "长沙市"),
    ({"locality_other": "999999"}, 404, "locality_code-error"),
    ({"locality_other": "12ab"}, 422, "locality_code-error"),
])  # fmt: skip
def test_new_refusals_keep_the_form_and_store_nothing(app, client, overrides, status, shown):
    token = sign_in(client, make_user(roles=(("facilitator", HOME),)))
    before = row_counts()
    refused = client.post("/processes/new", data=new_form(token, **overrides))
    assert refused.status_code == status
    page = refused.get_data(as_text=True)
    assert shown in page and 'id="process-form"' in page
    kept = "哪些楼先装？费用怎么分？" if "description" not in overrides else "老旧小区加装电梯"
    assert kept in page  # what was typed is still there
    assert row_counts() == before


def test_the_api_refuses_the_same_far_dates_through_the_shared_parser(app, client):
    headers = bearer(make_user(roles=(("facilitator", HOME),)))
    body = {
        "title": "加装电梯",
        "description": "说说",
        "locality_code": HOME,
        "template": "vtaiwan",
    }
    for start in ("9999-12-31T00:00:00", "0001-01-01T00:00:00+08:00"):
        refused = client.post(
            "/api/v1/processes", json=body | {"starts_at": start}, headers=headers
        )
        assert refused.status_code == 422 and "starts_at" in refused.get_json()["error"]["fields"]
    assert db.session.scalars(select(Process)).first() is None


def test_new_refuses_without_csrf_or_role(app, client):
    token = sign_in(client, make_user(roles=(("facilitator", HOME),)))
    assert client.post("/processes/new", data=new_form("forged")).status_code == 400
    assert client.post("/processes/new", data=new_form("")).status_code == 400
    with client.session_transaction() as session:
        del session["user_id"]  # signed out, with a valid form token
    assert client.post("/processes/new", data=new_form(token)).status_code == 401
    token = sign_in(client, make_user())
    assert client.post("/processes/new", data=new_form(token)).status_code == 403
    assert db.session.scalars(select(Process)).first() is None


def test_manage_page_is_for_facilitators_of_the_place(app, client):
    process = open_process()
    url = f"/processes/{process.id}/manage"
    assert client.get(url).status_code == 401
    for user, status in (
        (make_user(), 403),
        (make_user(roles=(("facilitator", ELSEWHERE),)), 403),
        (make_user(roles=(("official", HOME),)), 403),
        (make_user(roles=(("facilitator", PREFECTURE),)), 200),
        (make_user(roles=(("facilitator", HOME),)), 200),
    ):
        sign_in(client, user)
        assert client.get(url).status_code == status
    assert client.get("/processes/424242/manage").status_code == 404
    page = client.get(url).get_data(as_text=True)
    for stage in process.stages:
        assert f'id="stage-{stage.id}"' in page
    assert page.count('name="csrf_token"') == page.count("<form")
    assert 'enctype="multipart/form-data"' in page


def test_briefing_is_saved_and_rendered_safely_on_the_process_page(app, client):
    process, token = facilitating(client)
    stage = process.stages[0]
    url = f"/processes/{process.id}/manage/stages/{stage.id}/briefing"
    text = "**先读这个**\n\n<script>alert(1)</script> [链接](javascript:alert(1)) [政府](https://gov.cn)"
    saved = client.post(url, data={"csrf_token": token, "title": "提建议", "briefing": text})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"#stage-{stage.id}")
    db.session.expire_all()
    assert (db.session.get(Stage, stage.id).title, db.session.get(Stage, stage.id).briefing) == (
        "提建议",
        text,
    )
    public = client.get(f"/processes/{process.id}").get_data(as_text=True)
    assert "<strong>先读这个</strong>" in public and "&lt;script&gt;" in public
    assert "<script>alert" not in public and 'href="javascript' not in public
    assert 'href="https://gov.cn"' in public


@pytest.mark.parametrize(("form", "status"), [
    ({"title": "", "briefing": "x"}, 422),
    ({"title": "长" * 81, "briefing": "x"}, 422),
    ({"title": "好", "briefing": "长" * 6001}, 422),
    ({"title": "好", "briefing": "坏\x00"}, 422),
])  # fmt: skip
def test_bad_briefing_re_renders_with_the_message_and_keeps_the_old(app, client, form, status):
    process, token = facilitating(client)
    stage = process.stages[0]
    before = (stage.title, stage.briefing)
    url = f"/processes/{process.id}/manage/stages/{stage.id}/briefing"
    refused = client.post(url, data={"csrf_token": token, **form})
    assert refused.status_code == status
    assert 'class="field-error"' in refused.get_data(as_text=True)
    db.session.expire_all()
    stage = db.session.get(Stage, stage.id)
    assert (stage.title, stage.briefing) == before


def test_briefing_refusals_for_other_people_and_other_processes(app, client):
    process, _ = facilitating(client)
    other = open_process(code=ELSEWHERE)
    stage = process.stages[0]
    form = {"title": "改掉", "briefing": "改掉"}
    token = sign_in(client, make_user())
    url = f"/processes/{process.id}/manage/stages/{stage.id}/briefing"
    assert client.post(url, data=form | {"csrf_token": token}).status_code == 403
    token = sign_in(client, make_user(roles=(("facilitator", HOME),)))
    foreign = f"/processes/{process.id}/manage/stages/{other.stages[0].id}/briefing"
    assert client.post(foreign, data=form | {"csrf_token": token}).status_code == 404
    missing = f"/processes/{process.id}/manage/stages/999999/briefing"
    assert client.post(missing, data=form | {"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert "改掉" not in {s.title for s in db.session.scalars(select(Stage))}


def test_seeding_and_moderating_statements(app, client):
    process, token = facilitating(client)
    manage = f"/processes/{process.id}/manage"
    seeded = client.post(
        f"{manage}/statements", data={"csrf_token": token, "text": "电梯费用按楼层分摊"}
    )
    assert seeded.status_code == 302
    statement = db.session.scalars(select(Statement)).one()
    assert (statement.seeded, statement.status) == (True, "approved")
    for text in ("", "好", "长" * 141):
        refused = client.post(f"{manage}/statements", data={"csrf_token": token, "text": text})
        assert refused.status_code == 422 and 'id="text-error"' in refused.get_data(as_text=True)
    assert db.session.scalars(select(Statement)).all() == [statement]

    resident = make_user()
    pending = [
        Statement(process_id=process.id, author_id=resident.id, text=text, status="pending")
        for text in ("一楼不该出钱", "先装最老的楼")
    ]
    db.session.add_all(pending)
    db.session.commit()
    page = client.get(manage).get_data(as_text=True)
    assert "一楼不该出钱" in page and "先装最老的楼" in page
    first, second = (s.id for s in pending)
    approve = client.post(
        f"{manage}/statements/{first}/moderate", data={"csrf_token": token, "status": "approved"}
    )
    assert approve.status_code == 302 and approve.headers["Location"].endswith("#moderation")
    client.post(
        f"{manage}/statements/{second}/moderate", data={"csrf_token": token, "status": "rejected"}
    )
    db.session.expire_all()
    assert [db.session.get(Statement, i).status for i in (first, second)] == [
        "approved",
        "rejected",
    ]
    page = client.get(manage).get_data(as_text=True)
    assert "一楼不该出钱" not in page.split('id="moderation"')[1].split('id="statements"')[0]

    other = open_process(code=ELSEWHERE)
    theirs = Statement(process_id=other.id, author_id=resident.id, text="别处的", status="pending")
    db.session.add(theirs)
    db.session.commit()
    for url, status, code in (
        (f"{manage}/statements/{theirs.id}/moderate", "approved", 404),
        (f"{manage}/statements/999999/moderate", "approved", 404),
        (f"{manage}/statements/{second}/moderate", "deleted", 422),
        (f"{manage}/statements/{second}/moderate", "", 422),
    ):
        assert client.post(url, data={"csrf_token": token, "status": status}).status_code == code
    db.session.expire_all()
    assert db.session.get(Statement, theirs.id).status == "pending"
    assert db.session.get(Statement, second).status == "rejected"
    citizen = sign_in(client, resident)
    forbidden = client.post(
        f"{manage}/statements/{second}/moderate", data={"csrf_token": citizen, "status": "approved"}
    )
    assert forbidden.status_code == 403
    db.session.expire_all()
    assert db.session.get(Statement, second).status == "rejected"


def test_strict_moderation_switch(app, client):
    process, token = facilitating(client)
    url = f"/processes/{process.id}/manage/moderation"
    assert process.strict_moderation is True
    assert client.post(url, data={"csrf_token": token, "strict": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Process, process.id).strict_moderation is False
    assert "Turn strict moderation on" in client.get(f"/processes/{process.id}/manage?lang=en").text
    assert client.post(url, data={"csrf_token": token, "strict": "maybe"}).status_code == 422
    db.session.expire_all()
    assert db.session.get(Process, process.id).strict_moderation is False
    citizen = sign_in(client, make_user())
    assert client.post(url, data={"csrf_token": citizen, "strict": "1"}).status_code == 403
    token = sign_in(client, make_user(roles=(("facilitator", HOME),)))
    client.post(url, data={"csrf_token": token, "strict": "1"})
    db.session.expire_all()
    assert db.session.get(Process, process.id).strict_moderation is True


def test_advance_and_extend_with_reasons(app, client):
    process, token = facilitating(client)
    manage = f"/processes/{process.id}/manage"
    planned_end = process.stages[0].ends_at
    extended = client.post(
        f"{manage}/extend", data={"csrf_token": token, "days": "3", "reason": "居民要求多几天"}
    )
    assert extended.status_code == 302 and extended.headers["Location"].endswith("#extend")
    db.session.expire_all()
    process = db.session.get(Process, process.id)
    assert process.stages[0].ends_at == planned_end + timedelta(days=3)
    for days in ("", "0", "366", "three", "1.5", "99999999999999999999"):
        refused = client.post(f"{manage}/extend", data={"csrf_token": token, "days": days})
        assert refused.status_code == 422 and 'id="days-error"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Process, process.id).stages[0].ends_at == planned_end + timedelta(days=3)

    for _ in range(3):
        moved = client.post(f"{manage}/advance", data={"csrf_token": token, "reason": "已讨论完"})
        assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Process, process.id).current_position == 3
    last = client.post(f"{manage}/advance", data={"csrf_token": token, "reason": "再进一步"})
    assert last.status_code == 409 and 'id="advance"' not in last.get_data(as_text=True)
    assert "last stage" in client.get(f"{manage}?lang=en").text
    long_reason = client.post(
        f"{manage}/advance", data={"csrf_token": token, "reason": "长" * 1001}
    )
    assert long_reason.status_code == 422
    db.session.expire_all()
    assert db.session.get(Process, process.id).current_position == 3
    reasons = [c.reason for c in audit_log(db.session, db.session.get(Process, process.id))]
    assert reasons == ["居民要求多几天", "已讨论完", "已讨论完", "已讨论完"]
    outsider = sign_in(client, make_user(roles=(("facilitator", ELSEWHERE),)))
    assert (
        client.post(f"{manage}/extend", data={"csrf_token": outsider, "days": "2"}).status_code
        == 403
    )


def test_update_to_followers(app, client):
    process, token = facilitating(client)
    follower = make_user(email="lao.wang@example.cn")
    updates.follow(db.session, follower, process, datetime.now(UTC))
    db.session.commit()
    url = f"/processes/{process.id}/manage/updates"
    page = client.get(f"/processes/{process.id}/manage?lang=en").text
    assert "1 people follow this consultation" in page
    sent = client.post(
        url, data={"csrf_token": token, "title": "下周开会", "body": "周三晚上七点在居委会。"}
    )
    assert sent.status_code == 302 and sent.headers["Location"].endswith("#update")
    channels = sorted(m.channel for m in db.session.scalars(select(OutboxMessage)))
    assert channels == ["email", "inapp"]
    before = row_counts()
    for form in (
        {"title": "", "body": "x"},
        {"title": "好的", "body": ""},
        {"title": "坏\x00", "body": "x"},
    ):
        refused = client.post(url, data={"csrf_token": token, **form})
        assert refused.status_code == 422
        assert 'class="field-error"' in refused.get_data(as_text=True)
    citizen = sign_in(client, follower)
    assert (
        client.post(url, data={"csrf_token": citizen, "title": "假的", "body": "假的"}).status_code
        == 403
    )
    assert row_counts() == before
    assert len(db.session.scalars(select(ProcessUpdate)).all()) == 1
