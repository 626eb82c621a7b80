"""The export of a process: a ZIP of UTF-8 CSV files, read back; no phones, no formulas."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from massline.accounts.models import User
from massline.extensions import db
from massline.localities.models import Locality
from massline.stages import service
from massline.stages.dashboard import Counts, dashboard
from massline.stages.export import cell
from tests.factories import HOME, make_user, sign_in
from tests.stages.process_world import T0, build

FILES = {
    "process.csv", "stages.csv", "stage_attachments.csv", "audit_log.csv", "priorities.csv",
    "supports.csv", "comments.csv", "statements.csv", "statement_votes.csv", "wall_posts.csv",
    "updates.csv", "followers.csv",
}  # fmt: skip


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
