"""Matching from the database through the `match` CLI."""

from __future__ import annotations

import json

from massline.extensions import db
from massline.priorities.service import support
from tests.factories import HOME, NEIGHBOUR, make_priority, make_user

IDEA = "老旧小区加装电梯，方便老人上下楼"


def seed() -> None:
    """芙蓉区 asks for lifts loudly, 天心区 a little, and 天心区 also asks for other things."""
    lift = make_priority(
        title="老旧小区加装电梯", body="我们小区都是老人，希望加装电梯，方便上下楼。"
    )
    for _ in range(12):
        support(db.session, lift.id, make_user())
    few = make_priority(
        author=make_user(home_code=NEIGHBOUR),
        title="希望给老楼装电梯",
        body="老楼没有电梯，老人上下楼很辛苦，希望加装电梯。",
    )
    parks = make_priority(
        author=make_user(home_code=NEIGHBOUR),
        title="公园里增加健身器材",
        body="公园健身器材太少，希望多装一些，方便锻炼身体。",
    )
    for _ in range(3):
        support(db.session, few.id, make_user(home_code=NEIGHBOUR))
    for _ in range(12):
        support(db.session, parks.id, make_user(home_code=NEIGHBOUR))
    db.session.commit()


def run(app, *args: str) -> dict:
    result = app.test_cli_runner().invoke(
        args=["match", IDEA, "--json", "--min-participants", "3", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_match_ranks_the_place_that_asked_and_explains_it(app):
    seed()
    result = run(app, "--k", "2")
    first = result["ranking"][0]
    assert first["code"] == HOME
    assert {
        "code",
        "name",
        "score",
        "demand",
        "supporters",
        "population",
        "evidence",
    } <= first.keys()
    assert first["evidence"][0]["title"] == "老旧小区加装电梯"
    second = next(r for r in result["ranking"] if r["code"] == NEIGHBOUR)
    # The park supporters count as participants there but not as demand for lifts.
    assert second["participants"] >= 16 and second["supporters"] < first["supporters"]
    assert len(result["portfolio"]) == 2
    assert set(result["metrics"]) == {"portfolio", "top_k", "random"}
    assert result["relevance"]["kind"] == "exact"  # a small database: no saved index


def test_excluded_places_never_appear(app):
    seed()
    result = run(app, "--k", "1", "--exclude", HOME)
    codes = {r["code"] for r in result["ranking"]} | {r["code"] for r in result["portfolio"]}
    assert HOME not in codes and len(result["portfolio"]) == 1


def test_bad_level_is_refused(app):
    result = app.test_cli_runner().invoke(args=["match", IDEA, "--level", "village"])
    assert result.exit_code != 0 and "village" in result.output
