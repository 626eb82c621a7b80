"""Theme API, theme filter on priority lists, and theme pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from massline.extensions import db
from massline.priorities.models import Priority
from massline.themes import service
from massline.themes.models import PriorityTheme, Theme
from tests.factories import HOME, PREFECTURE
from tests.themes.test_service import load_messages


@pytest.fixture
def built(app, data_dir: Path) -> list[Priority]:
    """200 real messages as priorities, with a national build of 6 themes."""
    priorities = load_messages(data_dir, limit=200)
    service.build_themes(db.session, n_themes=6)
    db.session.commit()
    return priorities


def test_theme_list_has_the_stable_shape(client: FlaskClient, built: list[Priority]) -> None:
    body = client.get("/api/v1/themes").get_json()
    assert len(body["items"]) == 6
    for item in body["items"]:
        assert set(item) >= {"id", "label", "keywords", "size", "supports"}
        assert isinstance(item["keywords"], list) and item["keywords"]
    sizes = [item["size"] for item in body["items"]]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(built)


def test_theme_list_for_a_locality_counts_its_subtree(
    client: FlaskClient, built: list[Priority]
) -> None:
    home = client.get(f"/api/v1/themes?locality={HOME}").get_json()
    assert home["locality"] == HOME
    assert sum(i["size"] for i in home["items"]) == sum(p.locality_code == HOME for p in built)
    prefecture = client.get(f"/api/v1/themes?locality={PREFECTURE}").get_json()
    assert sum(i["size"] for i in prefecture["items"]) == len(built)
    missing = client.get("/api/v1/themes?locality=999999")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    bad = client.get("/api/v1/themes?locality=1234567")
    assert bad.status_code == 422 and "locality" in bad.get_json()["error"]["fields"]


def test_one_theme_with_trend_and_localities(client: FlaskClient, built: list[Priority]) -> None:
    theme = db.session.scalar(select(Theme).order_by(Theme.size.desc()).limit(1))
    body = client.get(f"/api/v1/themes/{theme.id}").get_json()
    assert body["id"] == theme.id and body["label"] == theme.label
    assert body["representative_priority_id"] is not None
    assert body["trend"] and set(body["trend"][0]) == {"month", "priorities"}
    assert {loc["code"] for loc in body["localities"]} <= {p.locality_code for p in built}
    assert client.get("/api/v1/themes/999999").status_code == 404


def test_priority_lists_filter_by_theme_and_carry_theme_id(
    client: FlaskClient, built: list[Priority]
) -> None:
    theme = db.session.scalar(select(Theme).order_by(Theme.size.asc()).limit(1))
    members = set(
        db.session.scalars(
            select(PriorityTheme.priority_id).where(PriorityTheme.theme_id == theme.id)
        )
    )
    body = client.get(f"/api/v1/priorities?theme={theme.id}").get_json()
    assert body["total"] == theme.size == len(members)
    assert {item["id"] for item in body["items"]} <= members
    assert all(item["theme_id"] == theme.id for item in body["items"])
    one = client.get(f"/api/v1/priorities/{built[0].id}").get_json()
    assert one["theme_id"] in {t.id for t in db.session.scalars(select(Theme))}
    assert client.get("/api/v1/priorities?theme=0").status_code == 422


def test_hot_themes_api(client: FlaskClient, built: list[Priority]) -> None:
    body = client.get("/api/v1/themes/hot?days=30").get_json()
    assert body["days"] == 30
    for item in body["items"]:
        assert {"id", "label", "growth", "supports_recent", "submissions_recent"} <= set(item)
    assert client.get("/api/v1/themes/hot?days=0").status_code == 422


def test_theme_pages(client: FlaskClient, built: list[Priority]) -> None:
    page = client.get("/themes/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    themes = list(db.session.scalars(select(Theme)))
    assert all(t.label in html for t in themes)
    big = max(themes, key=lambda t: t.size)
    detail = client.get(f"/themes/{big.id}")
    text = detail.get_data(as_text=True)
    assert detail.status_code == 200 and big.label in text and "<svg" in text and "<rect" in text
    assert big.keywords[0] in text
    second = client.get(f"/themes/{big.id}?page=2")
    assert second.status_code == 200
    assert client.get("/themes/999999").status_code == 404
    assert client.get(f"/themes/?locality={HOME}").status_code == 200
    assert "/themes/" in client.get("/priorities").get_data(as_text=True)  # nav link


def test_theme_pages_before_any_build(client: FlaskClient) -> None:
    page = client.get("/themes/")
    assert page.status_code == 200
    assert client.get("/api/v1/themes").get_json() == {"locality": "000000", "items": []}
