"""`setup --demo` builds a usable demo from the real messages, once."""

from __future__ import annotations

from sqlalchemy import func, select

from massline.demo import load_demo
from massline.extensions import db
from massline.feasibility.models import Report
from massline.priorities.models import Priority
from massline.priorities.service import ThresholdRule
from massline.stages.models import Process
from massline.themes.models import Theme


def test_demo_is_real_and_loads_once(app, client, data_dir):
    rule = ThresholdRule(rate=0.01, floor=100)
    counts = load_demo(db.session, data_dir, rule=rule, priorities=80)
    db.session.commit()
    assert counts["priorities"] == 80 and counts["reports"] == 6
    titles = db.session.scalars(select(Priority.title)).all()
    with open(data_dir / "messages_labelled.csv", encoding="utf-8") as handle:
        source = handle.read()
    assert all(title in source for title in titles)  # real citizen messages, not invented text
    assert db.session.scalar(select(func.count(Report.id)).where(Report.status == "published")) == 2
    assert db.session.scalar(select(func.count(Theme.id))) > 0
    process = db.session.scalar(select(Process))
    assert process.current_stage.kind == "opinion"
    groups = client.get(f"/api/v1/processes/{process.id}/opinion-groups").get_json()
    assert len(groups["groups"]) >= 2
    assert process.stages[0].summary_published_at is not None  # the proposal stage's summary
    assert "<strong>" in client.get(f"/processes/{process.id}").get_data(as_text=True)
    wall = client.get(f"/processes/{process.id}/wall").get_data(as_text=True)
    assert "立体停车" in wall
    again = load_demo(db.session, data_dir, rule=rule, priorities=80)
    assert again["priorities"] == 0
