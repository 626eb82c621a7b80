"""The facilitator's dashboard (exact counts per stage and per place) and the ZIP export."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from massline.accounts.models import User
from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import utcnow
from massline.priorities.models import Comment, Priority, Support
from massline.stages import service
from massline.stages.dashboard import Counts, dashboard
from massline.stages.export import cell
from massline.stages.models import (
    Process,
    ProcessFollow,
    ProcessUpdate,
    StageAttachment,
    Statement,
    StatementVote,
    WallPost,
)
from massline.stages.service import StageInput
from tests.factories import (
    ELSEWHERE,
    HOME,
    NEIGHBOUR,
    PREFECTURE,
    make_priority,
    make_user,
    sign_in,
)

DAY = timedelta(days=1)
CHINA = ZoneInfo("Asia/Shanghai")
FILES = {
    "process.csv", "stages.csv", "stage_attachments.csv", "audit_log.csv", "priorities.csv",
    "supports.csv", "comments.csv", "statements.csv", "statement_votes.csv", "wall_posts.csv",
    "updates.csv", "followers.csv",
}  # fmt: skip


@dataclass
class World:
    """A hand-built process: four stages (a gap between the 2nd and 3rd), people in three places."""

    process: Process
    t0: datetime
    facilitator: User
    a: User  # 芙蓉区
    b: User  # 天心区
    c: User  # 芙蓉区
    d: User  # 北京 (outside the process's locality)
    p1: Priority


def _at(t0: datetime, days: float) -> datetime:
    return t0 + timedelta(days=days)


def build(t0: datetime) -> World:
    """Items placed on purpose in each stage, in the gap, on a boundary and in another process."""
    facilitator = make_user(display_name="主持人", roles=(("facilitator", PREFECTURE),))
    a = make_user(display_name="甲", email="jia@example.cn")
    b = make_user(display_name="乙", home_code=NEIGHBOUR, email="yi@example.cn")
    c = make_user(display_name="丙")
    d = make_user(display_name="丁", home_code=ELSEWHERE)
    stages = [
        StageInput("proposal", "提出建议", t0, _at(t0, 10), ("submit", "support", "comment")),
        StageInput("opinion", "意见征集", _at(t0, 10), _at(t0, 18), ("statement", "vote")),
        StageInput("reflection", "讨论反思", _at(t0, 20), _at(t0, 30), ("comment",)),
        StageInput("decision", "决定与答复", _at(t0, 30), _at(t0, 40), ()),
    ]
    prefecture = db.session.get(Locality, PREFECTURE)
    process = service.create_process(
        db.session, facilitator, title="社区微更新", description="公共空间怎么改？",
        locality=prefecture, template="custom", stages=stages,
    )  # fmt: skip
    # Advancing exactly at the planned boundaries keeps the windows as planned.
    service.advance(db.session, facilitator, process, '=HYPERLINK("http://x")', _at(t0, 10))
    service.advance(db.session, facilitator, process, "按计划进入讨论", _at(t0, 20))
    other = service.create_process(
        db.session, facilitator, title="另一个", description="不算", locality=prefecture,
        template="custom", stages=stages[:1],
    )  # fmt: skip
    db.session.commit()

    def priority(author: User, days: float, **overrides: object) -> Priority:
        made = make_priority(author, **overrides)
        made.process_id, made.created_at = process.id, _at(t0, days)
        return made

    p1 = priority(a, 1, title="=1+1")
    p2 = priority(b, 2)
    priority(c, 3, draft=True)  # a draft was never submitted
    elsewhere = make_priority(a)
    elsewhere.process_id = other.id
    db.session.add_all([
        Support(priority_id=p1.id, user_id=c.id, created_at=_at(t0, 4)),
        Support(priority_id=p1.id, user_id=b.id, created_at=_at(t0, 5)),
        Support(priority_id=p2.id, user_id=a.id, created_at=_at(t0, 12)),
        Comment(priority_id=p1.id, user_id=c.id, body="+SUM(A1)", created_at=_at(t0, 6)),
        Comment(priority_id=p2.id, user_id=a.id, body="在两个阶段之间", created_at=_at(t0, 19)),
        Comment(priority_id=p2.id, user_id=c.id, body="讨论中", created_at=_at(t0, 23)),
        Comment(priority_id=elsewhere.id, user_id=c.id, body="别的进程", created_at=_at(t0, 6)),
    ])  # fmt: skip
    seeded = Statement(
        process_id=process.id,
        author_id=facilitator.id,
        text="增加座椅",
        seeded=True,
        status="approved",
        created_at=_at(t0, 10.5),
    )
    on_boundary = Statement(
        process_id=process.id,
        author_id=b.id,
        text="-2+3",
        status="approved",
        created_at=_at(t0, 10),
    )
    pending = Statement(
        process_id=process.id, author_id=a.id, text="应该多种树", created_at=_at(t0, 11)
    )
    db.session.add_all([seeded, on_boundary, pending,
                        Statement(process_id=other.id, author_id=a.id, text="别处",
                                  created_at=_at(t0, 11))])  # fmt: skip
    db.session.flush()
    for voter, value, days in ((a, 1, 13), (c, -1, 14), (d, 0, 14)):
        db.session.add(StatementVote(statement_id=seeded.id, user_id=voter.id, value=value,
                                     created_at=_at(t0, days), updated_at=_at(t0, 17)))  # fmt: skip
    reflection = process.stages[2]
    db.session.add_all([
        WallPost(process_id=process.id, stage_id=reflection.id, author_id=b.id, body="@cmd",
                 created_at=_at(t0, 21), revision=1),
        WallPost(process_id=process.id, stage_id=reflection.id, author_id=d.id, body="远程参会",
                 created_at=_at(t0, 22), revision=2),
        ProcessFollow(process_id=process.id, user_id=a.id, created_at=_at(t0, 1)),
        ProcessFollow(process_id=process.id, user_id=b.id, created_at=_at(t0, 2)),
        ProcessFollow(process_id=other.id, user_id=c.id, created_at=_at(t0, 2)),
        ProcessUpdate(process_id=process.id, author_id=facilitator.id, title="开始了",
                      body="欢迎", created_at=_at(t0, 1)),
        ProcessUpdate(process_id=process.id, author_id=facilitator.id, title="进入讨论",
                      body="\t=cmd", created_at=_at(t0, 20)),
        StageAttachment(stage_id=reflection.id, filename="议程.pdf", content_type="application/pdf",
                        size=1234, storage_key="k" * 64, uploaded_by_id=facilitator.id),
    ])  # fmt: skip
    db.session.commit()
    return World(process, t0, facilitator, a, b, c, d, p1)


T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_counts_per_stage_by_time_window(app):
    world = build(T0)
    figures = dashboard(db.session, world.facilitator, world.process, _at(T0, 25))
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
    figures = dashboard(db.session, world.facilitator, world.process, _at(T0, 25))
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
    figures = dashboard(db.session, world.facilitator, world.process, _at(T0, 25))
    states = [(r.state, r.ends_in, r.starts_in, r.overdue) for r in figures.stages]
    assert states == [
        ("done", None, None, False),
        ("done", None, None, False),
        ("now", timedelta(days=5), None, False),
        ("next", None, timedelta(days=5), False),
    ]
    late = dashboard(db.session, world.facilitator, world.process, _at(T0, 31))
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


def _read(response) -> dict[str, list[dict[str, str]]]:
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    tables = {}
    for name in archive.namelist():
        raw = archive.read(name)
        assert raw.startswith(b"\xef\xbb\xbf"), name  # the BOM Excel needs for Chinese
        tables[name] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    return tables


def test_export_zip(app, client):
    world = build(T0)
    sign_in(client, world.facilitator)
    response = client.get(f"/processes/{world.process.id}/export.zip", buffered=True)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    tables = _read(response)
    assert set(tables) == FILES
    sizes = {name: len(rows) for name, rows in tables.items()}
    assert sizes == {
        "process.csv": 1, "stages.csv": 4, "stage_attachments.csv": 1, "audit_log.csv": 2,
        "priorities.csv": 2, "supports.csv": 3, "comments.csv": 3, "statements.csv": 3,
        "statement_votes.csv": 3, "wall_posts.csv": 2, "updates.csv": 2, "followers.csv": 2,
    }  # fmt: skip
    [process] = tables["process.csv"]
    assert (process["title"], process["locality_name"], process["created_by_name"]) == (
        "社区微更新", "长沙市", "主持人"
    )  # fmt: skip
    assert [s["title"] for s in tables["stages.csv"]] == [
        "提出建议",
        "意见征集",
        "讨论反思",
        "决定与答复",
    ]
    assert tables["stages.csv"][0]["starts_at"] == "2026-03-02T08:00:00+08:00"  # Beijing time
    audit = tables["audit_log.csv"]
    assert [(r["from_stage"], r["to_stage"], r["user_name"]) for r in audit] == [
        ("提出建议", "意见征集", "主持人"), ("意见征集", "讨论反思", "主持人")
    ]  # fmt: skip
    supports = {(r["priority_id"], r["user_id"], r["user_name"]) for r in tables["supports.csv"]}
    assert (str(world.p1.id), str(world.c.id), "丙") in supports
    votes = {r["user_name"]: r["value"] for r in tables["statement_votes.csv"]}
    assert votes == {"甲": "1", "丙": "-1", "丁": "0"}  # numbers are not "formulas"
    assert {r["user_name"] for r in tables["followers.csv"]} == {"甲", "乙"}
    # Formula injection: every cell a spreadsheet would run gets a leading apostrophe.
    assert tables["priorities.csv"][0]["title"] == "'=1+1"
    assert audit[0]["reason"] == '\'=HYPERLINK("http://x")'
    assert {r["body"] for r in tables["comments.csv"]} == {"'+SUM(A1)", "在两个阶段之间", "讨论中"}
    assert {r["text"] for r in tables["statements.csv"]} == {"增加座椅", "'-2+3", "应该多种树"}
    assert {r["body"] for r in tables["wall_posts.csv"]} == {"'@cmd", "远程参会"}
    assert tables["updates.csv"][1]["body"] == "'\t=cmd"
    # No phone number or email anywhere, nor a column for them.
    text = "\n".join(
        zipfile.ZipFile(io.BytesIO(response.data)).read(n).decode("utf-8-sig") for n in FILES
    )
    people = db.session.scalars(select(User)).all()
    for user in people:
        assert user.phone not in text
        if user.email:
            assert user.email not in text
    headers = {key for rows in tables.values() for row in rows[:1] for key in row}
    assert not {"phone", "email", "password_hash"} & headers


def test_export_of_an_empty_process_has_every_file_with_headers(app, client):
    facilitator = make_user(roles=(("facilitator", HOME),))
    process = service.create_process(
        db.session, facilitator, title="空的", description="还没有人参加",
        locality=db.session.get(Locality, HOME), template="vtaiwan",
        stages=service.stages_from_template("vtaiwan", T0),
    )  # fmt: skip
    db.session.commit()
    sign_in(client, facilitator)
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(f"/processes/{process.id}/export.zip", buffered=True).data)
    )
    assert set(archive.namelist()) == FILES
    header = archive.read("supports.csv").decode("utf-8-sig").splitlines()
    assert header == ["id,priority_id,user_id,user_name,entered_by_id,created_at"]
    figures = dashboard(db.session, facilitator, process, T0)
    assert figures.total == Counts() and [p.name for p in figures.places] == ["芙蓉区"]


@pytest.mark.parametrize(("value", "expected"), [
    ("=cmd", "'=cmd"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (None, ""), (-1, -1), (True, 1),
    (["submit", "vote"], "submit vote"), (["=x"], "'=x"),
    (datetime(2026, 1, 1, 16, 30, tzinfo=UTC), "2026-01-02T00:30:00+08:00"),
])  # fmt: skip
def test_cell(value, expected):
    assert cell(value) == expected
