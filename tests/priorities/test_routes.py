"""Priorities end to end over HTTP: the citizen's path, discussion, moderation, assisted entry."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from massline.extensions import db
from massline.notifications.models import OutboxMessage
from massline.priorities.models import Comment, Flag, Follow, Priority, Support
from tests.factories import (
    ELSEWHERE,
    HOME,
    NEIGHBOUR,
    PREFECTURE,
    bearer,
    make_priority,
    make_user,
    sign_in,
)

API = "/api/v1"
TEXT = {
    "title": "菜市场旁边增设公共厕所",
    "body": "菜市场周边没有公共厕所，老人和摊主都很不方便，希望在旁边建一个。",
    "locality_code": HOME,
}


def count(model: type) -> int:
    """Rows of one model."""
    return db.session.scalar(select(func.count()).select_from(model))


def test_citizen_path_from_registration_to_retirement(client):
    phone = "13912340000"
    reg = {
        "phone": phone,
        "display_name": "赵大姐",
        "password": "pass-word-1",
        "locality_code": HOME,
    }
    assert client.post(f"{API}/auth/register", json=reg).status_code == 201
    sms = db.session.scalars(select(OutboxMessage.body)).one()
    code = re.search(r"\b\d{6}\b", sms).group()
    assert client.post(f"{API}/auth/verify", json={"phone": phone, "code": code}).status_code == 200
    raw = client.post(f"{API}/auth/token", json={"phone": phone, "password": "pass-word-1"})
    auth = {"Authorization": "Bearer " + raw.get_json()["token"]}

    created = client.post(f"{API}/priorities", json={**TEXT, "category": None}, headers=auth)
    assert created.status_code == 201
    pid = created.get_json()["id"]
    edited = client.patch(
        f"{API}/priorities/{pid}",
        json={**TEXT, "title": "菜市场旁边增设两个公共厕所"},
        headers=auth,
    )
    assert edited.status_code == 200
    assert edited.get_json()["title"] == "菜市场旁边增设两个公共厕所"

    supporter = make_user()
    assert (
        client.post(f"{API}/priorities/{pid}/supports", headers=bearer(supporter)).status_code
        == 201
    )
    locked = client.patch(f"{API}/priorities/{pid}", json=TEXT, headers=auth)
    assert locked.status_code == 409 and locked.get_json()["error"]["code"] == "conflict"
    assert client.get(f"{API}/priorities/{pid}").get_json()["title"] == "菜市场旁边增设两个公共厕所"

    retired = client.post(
        f"{API}/priorities/{pid}/retire",
        json={"reason": "duplicate", "explanation": "和另一条建议重复了"},
        headers=auth,
    )
    assert retired.status_code == 200 and retired.get_json()["status"] == "retired"
    shown = client.get(f"{API}/priorities/{pid}").get_json()
    assert shown["retire_reason"] == "duplicate" and shown["supports"] == 1
    again = client.post(
        f"{API}/priorities/{pid}/retire",
        json={"reason": "done", "explanation": "再退一次"},
        headers=auth,
    )
    assert again.status_code == 409
    closed = client.post(f"{API}/priorities/{pid}/supports", headers=bearer(make_user()))
    assert closed.status_code == 409
    assert count(Support) == 1


def test_list_filters_sorts_and_pages(client, app):
    home_author, neighbour_author = make_user(), make_user(home_code=NEIGHBOUR)
    old = make_priority(home_author, title="老旧小区加装电梯", category="urban_rural")
    newer = make_priority(
        neighbour_author, title="学校门口设置护学岗", category="education_culture"
    )
    outside = make_priority(make_user(home_code=ELSEWHERE), title="胡同里停车太乱了")
    draft = make_priority(home_author, title="还没写完的草稿建议", draft=True)
    retired = make_priority(home_author, title="已经撤回的建议内容")
    retired.status = "retired"
    old.published_at -= timedelta(days=2)
    db.session.commit()
    for _ in range(2):
        client.post(f"{API}/priorities/{old.id}/supports", headers=bearer(make_user()))

    def ids(**args: object) -> list[int]:
        response = client.get(f"{API}/priorities", query_string=args)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert set(ids()) == {old.id, newer.id, outside.id}  # no drafts, no retired by default
    assert draft.id not in ids(status="retired")
    assert ids(status="retired") == [retired.id]
    assert set(ids(locality=PREFECTURE)) == {old.id, newer.id}
    assert ids(locality=NEIGHBOUR) == [newer.id]
    assert ids(category="education_culture") == [newer.id]
    assert ids(sort="supports")[0] == old.id
    assert ids(sort="newest")[0] != old.id
    assert ids(sort="hot")[0] == old.id  # two supports this week
    app.config["MASSLINE_PAGE_SIZE"] = 2
    try:
        first, second = ids(page=1), ids(page=2)
        assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
        assert client.get(f"{API}/priorities", query_string={"page": 1}).get_json()["total"] == 3
    finally:
        app.config["MASSLINE_PAGE_SIZE"] = 20
    for bad in ({"sort": "random"}, {"status": "draft"}, {"page": "0"}, {"page": "x"}):
        assert client.get(f"{API}/priorities", query_string=bad).status_code == 422
    assert client.get(f"{API}/priorities", query_string={"locality": "999999"}).status_code == 404
    page = client.get("/priorities", query_string={"locality": PREFECTURE, "sort": "supports"})
    assert page.status_code == 200 and "老旧小区加装电梯" in page.get_data(as_text=True)
    assert "胡同里停车太乱了" not in page.get_data(as_text=True)


def test_comments_thread_one_level_follow_and_flag_once(client):
    priority = make_priority()
    citizen = make_user()
    auth = bearer(citizen)
    url = f"{API}/priorities/{priority.id}"
    top = client.post(f"{url}/comments", json={"body": "我也觉得路灯要修"}, headers=auth)
    assert top.status_code == 201
    reply = client.post(
        f"{url}/comments",
        json={"body": "已经打过12345了", "parent_id": top.get_json()["id"]},
        headers=bearer(priority.author),
    )
    assert reply.status_code == 201 and reply.get_json()["parent_id"] == top.get_json()["id"]
    deeper = client.post(
        f"{url}/comments",
        json={"body": "回复的回复", "parent_id": reply.get_json()["id"]},
        headers=auth,
    )
    assert deeper.status_code == 409
    threads = client.get(f"{url}/comments").get_json()["items"]
    assert len(threads) == 1 and [r["body"] for r in threads[0]["replies"]] == ["已经打过12345了"]
    assert client.get(url).get_json()["comments"] == 2

    assert client.post(f"{url}/follow", headers=auth).status_code == 201
    assert client.post(f"{url}/follow", headers=auth).status_code == 200
    assert client.delete(f"{url}/follow", headers=auth).get_json() == {"following": False}
    assert count(Follow) == 1  # the author's own follow only
    assert client.delete(f"{url}/follow", headers=auth).status_code == 200

    flag = {"target_type": "comment", "target_id": reply.get_json()["id"], "reason": "广告"}
    assert client.post(f"{API}/flags", json=flag, headers=auth).status_code == 201
    assert client.post(f"{API}/flags", json=flag, headers=auth).status_code == 200
    assert count(Flag) == 1
    assert db.session.get(Comment, reply.get_json()["id"]).flags_count == 1


def test_moderation_in_scope_only_and_queue_page(client):
    priority = make_priority()
    comment = client.post(
        f"{API}/priorities/{priority.id}/comments",
        json={"body": "推销广告"},
        headers=bearer(make_user()),
    ).get_json()
    flagger = bearer(make_user())
    client.post(
        f"{API}/flags", json={"target_type": "comment", "target_id": comment["id"]}, headers=flagger
    )
    client.post(
        f"{API}/flags", json={"target_type": "priority", "target_id": priority.id}, headers=flagger
    )
    moderator = make_user(roles=(("facilitator", PREFECTURE),), display_name="主持人")
    outsider = make_user(roles=(("facilitator", ELSEWHERE),), home_code=ELSEWHERE)

    token = sign_in(client, moderator)
    queue = client.get("/moderation")
    assert queue.status_code == 200 and "推销广告" in queue.get_data(as_text=True)
    sign_in(client, outsider)
    assert "推销广告" not in client.get("/moderation").get_data(as_text=True)
    sign_in(client, make_user())
    assert client.get("/moderation").status_code == 403

    hide = f"{API}/moderation/comment/{comment['id']}/hide"
    assert client.post(hide, headers=bearer(outsider)).status_code == 403
    assert client.post(hide, headers=bearer(moderator)).get_json() == {"hidden": True}
    assert client.get(f"{API}/priorities/{priority.id}/comments").get_json()["items"] == []
    token = sign_in(client, moderator)
    hidden_page = client.post(
        f"/moderation/priority/{priority.id}", data={"action": "hide", "csrf_token": token}
    )
    assert hidden_page.status_code == 302
    assert (
        client.get(f"{API}/priorities/{priority.id}").status_code == 200
    )  # moderators still see it
    assert (
        client.get(f"{API}/priorities/{priority.id}", headers=bearer(make_user())).status_code
        == 404
    )
    assert "推销广告" not in client.get("/moderation").get_data(as_text=True)  # flags resolved
    restore = f"{API}/moderation/priority/{priority.id}/restore"
    assert client.post(restore, headers=bearer(moderator)).get_json() == {"hidden": False}
    assert (
        client.get(f"{API}/priorities/{priority.id}", headers=bearer(make_user())).status_code
        == 200
    )


def test_assisted_priority_and_support_by_community_worker(client):
    worker = make_user(roles=(("community_worker", HOME),), display_name="社区网格员")
    resident = make_user(verified=False, display_name="不会用手机的老人")
    created = client.post(
        f"{API}/priorities", json={**TEXT, "resident_phone": resident.phone}, headers=bearer(worker)
    )
    assert created.status_code == 201
    priority = db.session.get(Priority, created.get_json()["id"])
    assert (priority.author_id, priority.entered_by_id) == (resident.id, worker.id)
    assert client.get(f"{API}/priorities/{priority.id}").get_json()["assisted"] is True

    neighbour = make_user(verified=False)
    assisted = client.post(
        f"{API}/priorities/{priority.id}/supports",
        json={"resident_phone": neighbour.phone},
        headers=bearer(worker),
    )
    assert assisted.status_code == 201
    support = db.session.scalars(select(Support)).one()
    assert (support.user_id, support.entered_by_id) == (neighbour.id, worker.id)

    citizen = make_user()
    for path, body in [
        ("/priorities", {**TEXT, "resident_phone": resident.phone}),
        (f"/priorities/{priority.id}/supports", {"resident_phone": make_user().phone}),
    ]:
        refused = client.post(API + path, json=body, headers=bearer(citizen))
        assert refused.status_code == 403
    far_worker = make_user(roles=(("community_worker", ELSEWHERE),), home_code=ELSEWHERE)
    refused = client.post(
        f"{API}/priorities/{priority.id}/supports",
        json={"resident_phone": citizen.phone},
        headers=bearer(far_worker),
    )
    assert refused.status_code == 403
    assert count(Support) == 1 and count(Priority) == 1


def test_draft_visible_only_to_its_author(client):
    author = make_user()
    draft = make_priority(author, draft=True)
    for headers in ({}, bearer(make_user())):
        assert client.get(f"{API}/priorities/{draft.id}", headers=headers).status_code == 404
    assert client.get(f"/priorities/{draft.id}").status_code == 404
    assert client.get(f"{API}/priorities/{draft.id}", headers=bearer(author)).status_code == 200
    assert draft.id not in [i["id"] for i in client.get(f"{API}/priorities").get_json()["items"]]
    published = client.post(f"{API}/priorities/{draft.id}/publish", headers=bearer(author))
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert client.get(f"{API}/priorities/{draft.id}").status_code == 200


def test_pages_submit_edit_support_comment_retire(client):
    author = make_user(display_name="页面作者")
    token = sign_in(client, author)
    assert client.get("/priorities/new").status_code == 200
    made = client.post("/priorities/new", data={**TEXT, "csrf_token": token})
    assert made.status_code == 302
    pid = db.session.scalars(select(Priority.id)).one()
    edited = client.post(
        f"/priorities/{pid}/edit", data={**TEXT, "title": "菜市场旁边建公厕", "csrf_token": token}
    )
    assert edited.status_code == 302
    page = client.get(f"/priorities/{pid}")
    assert page.status_code == 200 and "菜市场旁边建公厕" in page.get_data(as_text=True)

    token = sign_in(client, make_user())
    assert client.post(f"/priorities/{pid}/support", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/priorities/{pid}/support", data={"csrf_token": token}).status_code == 302
    assert (
        client.post(
            f"/priorities/{pid}/comments", data={"body": "支持！", "csrf_token": token}
        ).status_code
        == 302
    )
    assert client.post(f"/flag/priority/{pid}", data={"csrf_token": token}).status_code == 302
    assert (count(Support), count(Comment), count(Flag)) == (1, 1, 1)

    token = sign_in(client, author)
    locked = client.post(f"/priorities/{pid}/edit", data={**TEXT, "csrf_token": token})
    assert locked.status_code == 409
    retired = client.post(
        f"/priorities/{pid}/retire",
        data={"reason": "unfeasible", "explanation": "场地不够", "csrf_token": token},
    )
    assert retired.status_code == 302
    assert db.session.get(Priority, pid).status == "retired"


def test_public_pages_and_json_never_show_a_phone_number(client):
    author = make_user(display_name="公开名字")
    priority = make_priority(author)
    commenter = make_user(display_name="评论者")
    client.post(
        f"{API}/priorities/{priority.id}/comments",
        json={"body": "同意这个建议"},
        headers=bearer(commenter),
    )
    phones = {author.phone, commenter.phone}
    viewer = make_user()
    sign_in(client, viewer)  # even a signed-in neighbour sees names only
    responses = [
        client.get(f"/priorities/{priority.id}"),
        client.get("/priorities"),
        client.get("/"),
        client.get(f"/places/{HOME}"),
        client.get(f"{API}/priorities/{priority.id}"),
        client.get(f"{API}/priorities"),
        client.get(f"{API}/priorities/{priority.id}/comments"),
        client.get(f"{API}/priorities/similar", query_string={"title": "路灯"}),
    ]
    for response in responses:
        assert response.status_code == 200, response.request.path
        text = response.get_data(as_text=True)
        for phone in phones:
            assert phone not in text and phone[-4:] + "</" not in text, response.request.path
    assert "公开名字" in responses[0].get_data(as_text=True)
    assert "评论者" in responses[0].get_data(as_text=True)


def test_submit_form_from_a_consultation_makes_the_priority_through_it(app, client):
    from massline.stages.templates import TEMPLATES

    facilitator = bearer(make_user(roles=(("facilitator", PREFECTURE),)))
    body = {"title": "社区微更新", "description": "公共空间怎么改？", "locality_code": PREFECTURE,
            "template": "vtaiwan"}  # fmt: skip
    pid = client.post(f"{API}/processes", json=body, headers=facilitator).get_json()["id"]
    token = sign_in(client, make_user())
    page = client.get(f"/priorities/new?process_id={pid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'name="process_id" value="{pid}"' in html
    assert TEMPLATES["vtaiwan"][0].title in html  # names the stage it is made in
    assert client.get("/priorities/new?process_id=99999").status_code == 404
    assert client.get("/priorities/new?process_id=abc").status_code == 422
    made = client.post("/priorities/new", data=TEXT | {"csrf_token": token, "process_id": pid})
    assert made.status_code == 302
    assert db.session.scalar(select(Priority.process_id)) == pid
