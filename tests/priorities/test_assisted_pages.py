"""Community workers enter priorities and supports for residents through the pages."""

from __future__ import annotations

from sqlalchemy import select

from massline.extensions import db
from massline.priorities.models import Priority, Support
from tests.factories import HOME, PREFECTURE, make_priority, make_user, sign_in


def test_worker_submits_for_a_resident_and_records_a_support(app, client):
    worker = make_user(roles=(("community_worker", PREFECTURE),))
    resident = make_user(display_name="张奶奶")
    token = sign_in(client, worker)
    assert 'id="resident_phone"' in client.get("/priorities/new").get_data(as_text=True)
    response = client.post(
        "/priorities/new",
        data={
            "csrf_token": token,
            "title": "小区需要加装电梯",
            "body": "楼里老人多，上下楼困难，希望加装电梯。",
            "locality_code": HOME,
            "resident_phone": resident.phone,
        },
    )
    assert response.status_code == 302
    created = db.session.scalar(select(Priority).where(Priority.title == "小区需要加装电梯"))
    assert (created.author_id, created.entered_by_id) == (resident.id, worker.id)
    page = client.get(f"/priorities/{created.id}").get_data(as_text=True)
    assert "张奶奶" in page and resident.phone not in page

    other = make_priority()
    neighbour = make_user()
    for _ in range(2):  # the second time is a replay
        client.post(
            f"/priorities/{other.id}/assisted-support",
            data={"csrf_token": token, "resident_phone": neighbour.phone},
        )
    supports = db.session.scalars(select(Support).where(Support.priority_id == other.id)).all()
    assert [(s.user_id, s.entered_by_id) for s in supports] == [(neighbour.id, worker.id)]


def test_citizen_cannot_act_for_a_resident(app, client):
    citizen = make_user()
    resident = make_user()
    token = sign_in(client, citizen)
    assert 'id="resident_phone"' not in client.get("/priorities/new").get_data(as_text=True)
    priority = make_priority()
    response = client.post(
        f"/priorities/{priority.id}/assisted-support",
        data={"csrf_token": token, "resident_phone": resident.phone},
    )
    assert response.status_code == 403
    unknown = client.post(
        "/priorities/new",
        data={"csrf_token": token, "title": "测试标题四字", "body": "测试正文测试正文测试正文",
              "locality_code": HOME, "resident_phone": "13999999999"},
    )  # fmt: skip
    assert unknown.status_code in (403, 404)
    assert db.session.scalar(select(Support.id)) is None
