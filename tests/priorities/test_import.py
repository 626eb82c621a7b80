"""`flask priorities import`: offline-collected priorities from CSV, all rows or none."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from massline.extensions import db
from massline.priorities.models import Follow, Priority
from tests.factories import ELSEWHERE, HOME, NEIGHBOUR, make_user

HEADER = "title,body,locality_code,category,offline_supports,submitted_at\n"
GOOD_ROWS = (
    "小区垃圾分类点太远,垃圾分类投放点离单元楼太远，老人提着垃圾走很久。,430102,environment,40,"
    "2026-03-01T09:30:00\n"
    "公交站没有遮雨棚,下雨天在公交站等车会被淋湿，希望加装遮雨棚。,430103,,,\n"
)


@pytest.fixture
def worker(app):
    """A community worker for 长沙市's districts."""
    return make_user(roles=(("community_worker", "430100"),), display_name="网格员")


def run_import(app, path: Path, worker_phone: str):  # noqa: ANN201
    """Invoke the command the way `flask` does."""
    return app.test_cli_runner().invoke(
        args=["priorities", "import", str(path), "--assisted-by", worker_phone]
    )


def priorities_count() -> int:
    """Rows in the priorities table."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Priority))


def test_import_creates_assisted_priorities_with_offline_supports(app, worker, tmp_path):
    source = tmp_path / "paper.csv"
    source.write_bytes(("\ufeff" + HEADER + GOOD_ROWS).encode("utf-8"))  # Excel's BOM
    result = run_import(app, source, worker.phone)
    assert result.exit_code == 0, result.output
    assert "imported 2" in result.output
    rows = {p.title: p for p in db.session.scalars(select(Priority))}
    bins, shelter = rows["小区垃圾分类点太远"], rows["公交站没有遮雨棚"]
    assert {bins.entered_by_id, shelter.entered_by_id} == {worker.id}
    assert bins.is_assisted and shelter.locality_code == NEIGHBOUR
    assert bins.category.slug == "environment" and shelter.category is None
    assert (bins.offline_supports, bins.supports_count) == (40, 0)
    # 09:30 in China is 01:30 UTC; a blank submitted_at means now
    assert bins.published_at.astimezone(UTC) == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert bins.created_at.astimezone(UTC) == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert bins.status == "successful"  # 40 offline supports pass the test threshold (7)
    assert shelter.status == "published" and shelter.offline_supports == 0


BAD_ROWS = [
    ("title", "路灯,路灯坏了很久了需要修理,430102,,,\n"),
    ("control", "路灯坏了\x07三个月,路灯坏了很久了需要修理,430102,,,\n"),
    ("locality", "路灯坏了三个月,路灯坏了很久了需要修理,999999,,,\n"),
    ("scope", f"路灯坏了三个月,路灯坏了很久了需要修理,{ELSEWHERE},,,\n"),
    ("category", "路灯坏了三个月,路灯坏了很久了需要修理,430102,nonsense,,\n"),
    ("negative", "路灯坏了三个月,路灯坏了很久了需要修理,430102,,-3,\n"),
    ("count", "路灯坏了三个月,路灯坏了很久了需要修理,430102,,很多,\n"),
    ("date", "路灯坏了三个月,路灯坏了很久了需要修理,430102,,,昨天\n"),
    ("huge", "路灯坏了三个月,路灯坏了很久了需要修理,430102,,99999999999999999999,\n"),
]


def test_bad_rows_are_listed_by_line_and_nothing_is_stored(app, worker, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(HEADER + GOOD_ROWS + "".join(row for _, row in BAD_ROWS), encoding="utf-8")
    result = run_import(app, source, worker.phone)
    assert result.exit_code != 0
    reported = [int(n) for n in re.findall(r"line (\d+):", result.output)]
    # the header is line 1 and two good rows follow, so the bad ones are lines 4…
    assert reported == list(range(4, 4 + len(BAD_ROWS))), result.output
    assert "nothing imported" in result.output
    assert priorities_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER.encode() + "路灯坏了三个月,路灯坏了很久了,430102,,,\n".encode("gb18030"), "UTF-8"),
        (b"title,body\n\xe8\xb7\xaf\xe7\x81\xaf,x\n", "locality_code"),
        (b"", "locality_code"),
    ],
    ids=["gb18030", "missing-column", "empty-file"],
)
def test_unreadable_files_are_refused(app, worker, tmp_path, content, message):
    source = tmp_path / "odd.csv"
    source.write_bytes(content)
    result = run_import(app, source, worker.phone)
    assert result.exit_code != 0
    assert message in result.output
    assert priorities_count() == 0


def test_only_community_workers_in_scope_may_import(app, tmp_path):
    source = tmp_path / "paper.csv"
    source.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    citizen = make_user()
    narrow = make_user(roles=(("community_worker", HOME),))  # 天心区 is outside its scope
    for phone in (citizen.phone, narrow.phone, "13999999999"):
        result = run_import(app, source, phone)
        assert result.exit_code != 0, phone
    assert priorities_count() == 0
