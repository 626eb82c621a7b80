"""The facilitator's dashboard: exact counts per stage and per place, the clock, refusals."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlalchemy import select

from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import utcnow
from massline.stages.dashboard import Counts, dashboard
from tests.factories import ELSEWHERE, HOME, NEIGHBOUR, PREFECTURE, make_user, sign_in
from tests.stages.process_world import DAY, T0, at, build


def test_counts_per_stage_by_time_window(app):
    world = build(T0)
    figures = dashboard(db.session, world.facilitator, world.process, at(T0, 25))
    by_stage = {row.stage.kind: asdict(row.counts) for row in figures.stages}
    # Order: people, priorities, supports, comments, statements (seeds excluded), votes, wall.
    assert by_stage == {
        "proposal": asdict(Counts(3, 2, 2, 1, 0, 0, 0)),
        "opinion": asdict(Counts(4, 0, 1, 0, 2, 3, 0)),
        "reflection": asdict(Counts(3, 0, 0, 1, 0, 0, 2)),
        "decision": asdict(Counts()),
    }
    # The comment made between two stages counts only for the whole process.
    assert figures.total == Counts(4, 2, 3, 3, 2, 3, 2)
    assert figures.seeded == 1


def test_counts_by_place_of_home(app):
    world = build(T0)
    figures = dashboard(db.session, world.facilitator, world.process, at(T0, 25))
    places = {row.name: row.counts for row in figures.places}
    assert places["芙蓉区"] == Counts(2, 1, 2, 3, 1, 2, 0)
    assert places["天心区"] == Counts(1, 1, 1, 0, 1, 0, 1)
    assert figures.elsewhere == Counts(1, 0, 0, 0, 0, 1, 1)
    counties = set(
        db.session.scalars(
            select(Locality.name).where(
                Locality.level == "county", Locality.parent_code == PREFECTURE
            )
        )
    )
    assert set(places) == counties and len(counties) > 2  # silent counties listed with zeros
    assert [row.name for row in figures.places[:2]] == ["芙蓉区", "天心区"]
    assert all(places[name] == Counts() for name in counties - {"芙蓉区", "天心区"})


def test_clock_queue_followers_and_updates(app):
    world = build(T0)
    figures = dashboard(db.session, world.facilitator, world.process, at(T0, 25))
    states = [(r.state, r.ends_in, r.starts_in, r.overdue) for r in figures.stages]
    assert states == [
        ("done", None, None, False),
        ("done", None, None, False),
        ("now", timedelta(days=5), None, False),
        ("next", None, timedelta(days=5), False),
    ]
    late = dashboard(db.session, world.facilitator, world.process, at(T0, 31))
    assert [(r.state, r.ends_in, r.starts_in, r.overdue) for r in late.stages][2:] == [
        ("now", None, None, True),
        ("next", None, None, False),
    ]
    assert figures.pending_count == 1
    assert [(s.text, name) for s, name in figures.pending] == [("应该多种树", "甲")]
    assert (figures.followers, figures.updates_count) == (2, 2)
    assert [u.title for u in figures.latest_updates] == ["进入讨论", "开始了"]


def test_dashboard_page(app, client):
    world = build(utcnow() - 25 * DAY)
    sign_in(client, world.facilitator)
    response = client.get(f"/processes/{world.process.id}/dashboard")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    pid = world.process.id
    for expected in ("讨论反思", "天心区", "应该多种树", f'href="/processes/{pid}/manage"',
                     f'href="/processes/{pid}/wall"', f"/processes/{pid}/export.zip",
                     'id="timeline"', "5天后"):  # fmt: skip
        assert expected in page, expected
    assert "jia@example.cn" not in page and world.a.phone not in page
    english = client.get(f"/processes/{pid}/dashboard?lang=en").get_data(as_text=True)
    assert "in 5 days" in english and "Beijing time" in english


@pytest.mark.parametrize("path", ["dashboard", "export.zip"])
def test_refusals(app, client, path):
    world = build(T0)
    url = f"/processes/{world.process.id}/{path}"
    assert client.get(url).status_code == 401
    for outsider in (
        make_user(),  # a citizen living there
        make_user(roles=(("facilitator", NEIGHBOUR),)),  # a county below: not the prefecture
        make_user(roles=(("facilitator", ELSEWHERE),)),
        make_user(roles=(("official", PREFECTURE),)),
    ):
        sign_in(client, outsider)
        refused = client.get(url)
        assert refused.status_code == 403 and refused.mimetype == "text/html"
    sign_in(client, make_user(home_code=HOME, roles=(("admin", "000000"),)))
    assert client.get(url, buffered=True).status_code == 200
    for unknown in (999999, 2**40):
        assert client.get(f"/processes/{unknown}/{path}").status_code == 404
    assert client.get(f"/processes/abc/{path}").status_code == 404
