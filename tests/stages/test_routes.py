"""The citizen's process page: timeline, actions first, statement routing, groups and the plot."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from massline.extensions import db
from massline.localities.service import get_locality
from massline.models_common import utcnow
from massline.stages import service, statements
from massline.stages.models import StatementVote
from massline.stages.plot import PALETTE
from massline.stages.routes import timeline
from massline.stages.service import StageInput
from tests.factories import (
    ELSEWHERE,
    HOME,
    PREFECTURE,
    make_priority,
    make_user,
    row_counts,
    sign_in,
)
from tests.stages.test_statements import TEXTS, opinion_process, vote_in_camps

VOTE_ACTION = re.compile(r'action="/processes/(\d+)/statements/(\d+)/vote"')


def page(client, process, **params):
    response = client.get(f"/processes/{process.id}", query_string={"lang": "en", **params})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def next_statement(html: str) -> int | None:
    """The id of the statement offered to vote on, if any."""
    start = html.find('id="next-statement"')
    found = VOTE_ACTION.search(html[start : html.find("</div>", start)]) if start >= 0 else None
    return int(found.group(2)) if found else None


def vote_form(client, token, process, statement_id, value, origin="next"):
    return client.post(
        f"/processes/{process.id}/statements/{statement_id}/vote?lang=en",
        data={"csrf_token": token, "value": value, "from": origin},
    )


def dated_process(*stages):
    facilitator = make_user(roles=(("facilitator", PREFECTURE),))
    inputs = [
        StageInput(kind, title, datetime.fromisoformat(start), datetime.fromisoformat(end), actions)
        for kind, title, start, end, actions in stages
    ]
    process = service.create_process(
        db.session, facilitator, title="社区微更新", description="第一段。\n第二段。",
        locality=get_locality(db.session, PREFECTURE), template="custom", stages=inputs,
    )  # fmt: skip
    db.session.commit()
    return process


def test_the_timeline_counts_days_in_beijing(app):
    process = dated_process(
        ("opinion", "意见征集", "2026-03-01T08:00+08:00", "2026-03-10T00:00+08:00", ("vote",)),
        ("reflection", "讨论反思", "2026-03-10T00:00+08:00", "2026-03-20T09:00+08:00", ()),
    )

    def at(moment: str):
        with app.test_request_context("/?lang=en"):
            return timeline(process, datetime.fromisoformat(moment))

    now, later = at("2026-03-07T15:00+00:00")  # 23:00 on the 7th in Beijing
    assert (now.state, later.state) == ("now", "next")
    # A stage ending at midnight has its last day before: 1–9 March, then 10–20 March.
    assert (now.first_day, now.last_day) == (date(2026, 3, 1), date(2026, 3, 9))
    assert (later.first_day, later.last_day) == (date(2026, 3, 10), date(2026, 3, 20))
    assert (now.countdown, later.countdown) == ("ends in 2 days", "starts in 3 days")
    # Two hours later it is the 8th in Beijing but still the 7th in UTC.
    assert [s.countdown for s in at("2026-03-07T17:00+00:00")] == [
        "ends tomorrow", "starts in 2 days",
    ]  # fmt: skip
    assert [s.countdown for s in at("2026-03-09T08:00+00:00")] == ["ends today", "starts tomorrow"]
    assert at("2026-03-09T16:00+00:00")[0].countdown == "ended"  # the tick has not moved it yet
    assert at("2026-02-26T12:00+00:00")[0].countdown == "starts in 3 days"  # not begun
    assert at("2026-02-28T15:30+00:00")[0].countdown == "starts tomorrow"  # 23:30 on 28 Feb
    assert at("2026-02-28T23:00+00:00")[0].countdown == "starts today"  # 07:00, opens at 08:00
    process.current_position = 1
    done, current = at("2026-03-12T00:00+00:00")
    assert (done.state, done.countdown, current.countdown) == ("done", "", "ends in 8 days")


def test_signed_out_people_see_the_stage_the_next_statement_and_how_to_take_part(app, client):
    process, made, _ = opinion_process()
    html = page(client, process)
    assert html.count('aria-current="step"') == 1
    current = html[html.index('aria-current="step"') :].split("</li>")[0]
    assert "意见征集" in current and "ends in 7 days" in current
    assert "starts in 7 days" in html  # the reflection stage
    offered = next_statement(html)
    assert offered is None  # no vote forms for people who are not signed in...
    start = html.index('id="next-statement"')  # ...but they see what they would vote on
    assert any(s.text in html[start : start + 300] for s in made)
    assert "Sign in to vote" in html and 'name="value"' not in html
    assert "statement-text" in html and 'id="statement-text"' not in html  # no statement form
    assert "About this consultation" in html and "我们社区的公共空间该怎么改？" in html


def test_a_citizen_votes_statement_after_statement_and_can_change_a_vote(app, client):
    process, made, _ = opinion_process()
    citizen = make_user()
    token = sign_in(client, citizen)
    html = page(client, process)
    assert "You have voted on 0 of 6 statements." in html and 'id="statement-text"' in html
    assert html.count("Your votes") == 0
    seen = []
    for _ in made:
        offered = next_statement(page(client, process))
        assert offered is not None and offered not in seen
        assert next_statement(page(client, process)) == offered  # a reload offers the same one
        response = vote_form(client, token, process, offered, 1)
        assert response.status_code == 302 and response.location.endswith("#vote")
        seen.append(offered)
    assert sorted(seen) == sorted(s.id for s in made)
    html = page(client, process)
    assert next_statement(html) is None and 'id="all-voted"' in html
    assert "You have voted on every statement." in html
    votes = html[html.index('id="my-votes"') :]
    assert all(s.text in votes for s in made)
    assert votes.count('aria-pressed="true"') == len(made)

    changed = vote_form(client, token, process, made[2].id, -1, origin="list")
    assert changed.status_code == 302 and changed.location.endswith(f"#s{made[2].id}")
    stored = dict(
        db.session.execute(
            select(StatementVote.statement_id, StatementVote.value).where(
                StatementVote.user_id == citizen.id
            )
        ).all()
    )
    assert stored == {s.id: (-1 if s is made[2] else 1) for s in made}
    item = page(client, process).split(f'id="s{made[2].id}"')[1].split("</li>")[0]
    pressed = re.search(r'aria-pressed="true">([^<]+)<', item).group(1)
    assert pressed == "Disagree"


def test_a_new_statement_is_offered_and_pending_ones_wait(app, client):
    process, made, _ = opinion_process(TEXTS[:2])
    citizen = make_user()
    token = sign_in(client, citizen)
    for statement in made:
        vote_form(client, token, process, statement.id, 0)
    sent = client.post(
        f"/processes/{process.id}/statements?lang=en",
        data={"csrf_token": token, "text": "每周清理一次垃圾"},
    )
    assert sent.status_code == 302
    html = page(client, process)
    assert "approved" in html and 'id="all-voted"' in html  # the flash, and nothing new yet
    assert len(statements.visible_statements(db.session, process)) == 2  # it waits
    facilitator = make_user(roles=(("facilitator", PREFECTURE),))
    fresh = statements.add_statement(db.session, facilitator, process, "增加路灯", utcnow())
    db.session.commit()
    assert next_statement(page(client, process)) == fresh.id


def test_refusals_store_nothing(app, client):
    process, made, _ = opinion_process()
    other, foreign, _ = opinion_process(("别的事情",))
    citizen = make_user()
    token = sign_in(client, citizen)
    before = row_counts()
    sid = made[0].id
    for value in ("2", "yes", "", "1.0", "9" * 30):
        assert vote_form(client, token, process, sid, value).status_code == 422
    assert vote_form(client, token, process, sid, 1, origin="elsewhere").status_code == 422
    assert vote_form(client, token, process, 999_999, 1).status_code == 404
    assert vote_form(client, token, process, foreign[0].id, 1).status_code == 404
    assert vote_form(client, token, other, sid, 1).status_code == 404
    huge = client.post(
        f"/processes/{process.id}/statements/{2**40}/vote", data={"csrf_token": token, "value": 1}
    )
    assert huge.status_code == 404
    no_token = client.post(f"/processes/{process.id}/statements/{sid}/vote", data={"value": 1})
    assert no_token.status_code == 400
    for text in ("", "x", "长" * 141, "坏\x00字", "两\n行"):
        sent = client.post(
            f"/processes/{process.id}/statements", data={"csrf_token": token, "text": text}
        )
        assert sent.status_code == 422
    assert client.get("/processes/999999").status_code == 404
    with client.session_transaction() as session:
        session.pop("user_id")
    assert vote_form(client, token, process, sid, 1).status_code == 401
    assert row_counts() == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"home_code": ELSEWHERE}, "Only residents of"),
        ({"verified": False}, "Verify your phone number first."),
    ],
)
def test_people_who_may_not_vote_are_told_why(app, client, overrides, message):
    process, made, _ = opinion_process()
    token = sign_in(client, make_user(**overrides))
    html = page(client, process)
    assert message in html and 'name="value"' not in html and 'id="statement-text"' not in html
    before = row_counts()
    assert vote_form(client, token, process, made[0].id, 1).status_code == 403
    assert row_counts() == before


def test_votes_outside_the_opinion_stage_are_refused_and_shown_read_only(app, client):
    process, made, facilitator = opinion_process()
    citizen = make_user()
    token = sign_in(client, citizen)
    vote_form(client, token, process, made[0].id, -1)
    service.advance(db.session, facilitator, process, "", utcnow())
    db.session.commit()
    html = page(client, process)
    assert 'id="vote"' not in html and 'name="value"' not in html
    mine = html[html.index('id="my-votes"') :]
    assert made[0].text in mine and "Disagree" in mine
    assert "Open a priority to comment on it" in html  # the reflection stage allows comments
    before = row_counts()
    refused = vote_form(client, token, process, made[0].id, 1)
    assert refused.status_code == 409 and "讨论反思" in refused.get_data(as_text=True)
    assert row_counts() == before


def test_the_groups_as_a_scatter_plot_with_the_statements_that_define_them(app, client):
    process, made, _ = opinion_process()
    voters = vote_in_camps(made, 16)
    anonymous = page(client, process)
    assert 'class="scatter"' in anonymous and 'role="img"' in anonymous
    assert "<desc" in anonymous and "A scatter plot of 16 participants in 2 groups." in anonymous
    assert anonymous.count("h0") == 16 and 'r="7"' not in anonymous
    assert all(colour in anonymous for colour in PALETTE[:2])
    assert 'id="group-1"' in anonymous and 'id="group-2"' in anonymous
    group = anonymous[anonymous.index('id="group-1"') :].split("</div>")[0]
    assert re.search(r"\d+% agree, \d+% disagree", group)
    consensus = anonymous[anonymous.index('id="consensus"') :].split("</ul>")[0]
    assert "开辟儿童游乐区" in consensus
    divisive = anonymous[anonymous.index('id="divisive"') :].split("</ul>")[0]
    assert "修建停车位" in divisive or "增加座椅" in divisive

    sign_in(client, voters[0])
    mine = page(client, process)
    assert mine.count("h0") == 15 and 'r="7"' in mine  # their own dot is the ring
    assert re.search(r"You are in group [12]\.", mine)
    assert "You are marked with a black ring." in mine


def test_page_views_reuse_the_fit_until_someone_votes(app, client, monkeypatch):
    process, made, _ = opinion_process()
    vote_in_camps(made, 8)
    fits = []
    real_fit = statements._fit
    monkeypatch.setattr(statements, "_fit", lambda *a: fits.append(a) or real_fit(*a))
    citizen = make_user()
    token = sign_in(client, citizen)
    page(client, process)
    page(client, process)
    assert client.get(f"/api/v1/processes/{process.id}/opinion-groups").status_code == 200
    assert len(fits) == 1
    vote_form(client, token, process, made[0].id, 1)
    page(client, process)
    page(client, process)
    assert len(fits) == 2


def test_the_proposal_stage_offers_submitting_and_the_processs_priorities(app, client):
    facilitator = make_user(roles=(("facilitator", PREFECTURE),))
    start = utcnow() - timedelta(seconds=1)
    process = service.create_process(
        db.session, facilitator, title="社区微更新", description="",
        locality=get_locality(db.session, PREFECTURE), template="vtaiwan",
        stages=service.stages_from_template("vtaiwan", start),
    )  # fmt: skip
    db.session.commit()
    ours = make_priority(title="小区增设充电桩", process_id=process.id)
    make_priority(title="别处的建议")  # not made through the process
    sign_in(client, make_user(home_code=HOME))
    html = page(client, process)
    submit = re.search(r'id="submit-priority" href="([^"]+)"', html).group(1)
    assert submit == f"/priorities/new?process_id={process.id}"
    listed = html[html.index('id="process-priorities"') :]
    assert ours.title in listed and "别处的建议" not in html
    assert f"0 of {ours.threshold} supports" in listed
    assert "Open a priority to support it." in listed
    assert 'id="vote"' not in html and "starts in 14 days" in html
    assert "About this consultation" not in html  # no description given


def test_an_opinion_stage_without_statements(app, client):
    process, _, _ = opinion_process(())
    sign_in(client, make_user())
    html = page(client, process)
    assert "No statements yet." in html and 'id="groups"' not in html and "<svg" not in html


def test_stages_end_at_beijing_midnight_on_the_page(app, client):
    today = datetime.now(UTC).astimezone(datetime.fromisoformat("2026-01-01T00:00+08:00").tzinfo)
    midnight = today.replace(hour=0, minute=0, second=0, microsecond=0)
    process = dated_process(
        ("opinion", "意见征集", (midnight - timedelta(days=2)).isoformat(),
         (midnight + timedelta(days=3)).isoformat(), ("vote",)),
    )  # fmt: skip
    html = page(client, process)
    # It ends at midnight after the day after tomorrow: two more days after today.
    assert "ends in 2 days" in html
    last = (midnight + timedelta(days=2)).strftime("%m-%d")
    assert f"–{last}" in html


def test_only_the_facilitators_of_the_place_see_the_way_to_manage(app, client):
    process, _made, _ = opinion_process()
    assert 'id="manage-link"' not in page(client, process)
    sign_in(client, make_user())
    assert 'id="manage-link"' not in page(client, process)
    sign_in(client, make_user(roles=(("facilitator", ELSEWHERE),)))
    assert 'id="manage-link"' not in page(client, process)
    sign_in(client, make_user(roles=(("facilitator", PREFECTURE),)))
    html = page(client, process)
    assert f'href="/processes/{process.id}/manage"' in html
    assert f'href="/processes/{process.id}/dashboard"' in html


def test_following_from_the_page_and_the_api_and_public_updates(app, client):
    from massline.stages.models import ProcessFollow
    from massline.stages.updates import post_update
    from tests.factories import bearer

    process, _made, facilitator = opinion_process()
    citizen = make_user()
    token = sign_in(client, citizen)
    assert "Follow this consultation" in page(client, process)
    url = f"/processes/{process.id}/follow?lang=en"
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    assert client.post(url, data={"csrf_token": token}).status_code == 302  # a replay: once
    follows = select(ProcessFollow.user_id).where(ProcessFollow.process_id == process.id)
    assert db.session.scalars(follows).all() == [citizen.id]
    assert "Following · stop" in page(client, process)
    assert client.post(url, data={"csrf_token": token, "stop": "maybe"}).status_code == 422
    assert client.post(url, data={"csrf_token": token, "stop": "1"}).status_code == 302
    assert db.session.scalars(follows).all() == []
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    assert client.post("/processes/999999/follow", data={"csrf_token": token}).status_code == 404

    api = bearer(citizen)
    assert client.post(f"/api/v1/processes/{process.id}/follow", headers=api).status_code == 201
    gone = client.delete(f"/api/v1/processes/{process.id}/follow", headers=api)
    assert gone.get_json() == {"following": False}
    anonymous = app.test_client()
    assert anonymous.delete(f"/api/v1/processes/{process.id}/follow").status_code == 401

    post_update(
        db.session, facilitator, process, "议事会时间", "本周六上午九点\n社区活动室", utcnow()
    )
    db.session.commit()
    html = page(client, process)
    assert 'id="updates"' in html and "议事会时间" in html and "社区活动室" in html


def test_the_change_log_names_who_moved_the_process(app, client):
    process, _made, facilitator = opinion_process()
    service.extend(db.session, facilitator, process, 2, "节假日", utcnow())
    service.advance(db.session, facilitator, process, "提前讨论", utcnow())
    db.session.commit()
    changes = page(client, process).split('id="changes"')[1]
    assert "“意见征集” extended" in changes and "节假日" in changes
    assert "意见征集 → 讨论反思" in changes and facilitator.display_name in changes
