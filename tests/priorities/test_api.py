"""The priorities API over real HTTP through the test client."""

from __future__ import annotations

from massline.extensions import db
from massline.priorities.models import Priority, Support
from tests.factories import ELSEWHERE, HOME, bearer, make_priority, make_user


def test_create_returns_census_threshold(client):
    author = make_user()
    response = client.post(
        "/api/v1/priorities",
        json={
            "title": "增加社区养老服务站",
            "body": "社区老人越来越多，希望增设养老服务站点。",
            "locality_code": HOME,
        },
        headers=bearer(author),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "published"
    assert body["supports"] == 0
    assert body["threshold"] == 7  # ceil(642,010 residents × 0.00001)
    shown = client.get(f"/api/v1/priorities/{body['id']}").get_json()
    assert {
        "id",
        "title",
        "body",
        "locality_code",
        "status",
        "supports",
        "threshold",
        "theme_id",
    } <= shown.keys()


def test_support_counts_once_and_replay_is_200(client):
    priority = make_priority()
    supporter = make_user()
    headers = bearer(supporter)
    first = client.post(f"/api/v1/priorities/{priority.id}/supports", headers=headers)
    again = client.post(f"/api/v1/priorities/{priority.id}/supports", headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["supports"] == 1
    assert db.session.query(Support).count() == 1


def test_threshold_reached_makes_priority_successful(client):
    priority = make_priority(threshold_floor=2)
    for _ in range(2):
        client.post(f"/api/v1/priorities/{priority.id}/supports", headers=bearer(make_user()))
    db.session.expire_all()
    assert db.session.get(Priority, priority.id).status == "successful"


def test_outsider_and_unverified_cannot_support(client):
    priority = make_priority()
    outsider = client.post(
        f"/api/v1/priorities/{priority.id}/supports", headers=bearer(make_user(home_code=ELSEWHERE))
    )
    unverified = client.post(
        f"/api/v1/priorities/{priority.id}/supports", headers=bearer(make_user(verified=False))
    )
    assert outsider.status_code == 403
    assert unverified.status_code == 403
    assert outsider.get_json()["error"]["code"] == "forbidden"
    assert db.session.query(Support).count() == 0


def test_chinese_search_finds_by_segmented_words(client):
    make_priority(title="学校周边交通拥堵", body="每天早上学校门口车辆拥堵严重，孩子上学很危险。")
    make_priority(title="小区垃圾无人清理", body="垃圾堆了一周没有人清理，气味很大。")
    found = client.get("/api/v1/priorities", query_string={"q": "交通拥堵"}).get_json()
    assert [item["title"] for item in found["items"]] == ["学校周边交通拥堵"]
    assert found["total"] == 1
