"""Theme builds over real citizen messages stored as priorities, on the test database."""

from __future__ import annotations

import csv
import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sklearn.metrics import normalized_mutual_info_score
from sqlalchemy import func, select, update

from massline.errors import Conflict
from massline.extensions import db
from massline.priorities.models import Priority
from massline.priorities.schemas import PriorityInput
from massline.priorities.service import ThresholdRule, create_priority, support
from massline.text import analyse
from massline.themes import service
from massline.themes.models import PriorityTheme, Theme, ThemeBuild
from tests.factories import HOME, NEIGHBOUR, PREFECTURE, make_user

RULE = ThresholdRule(rate=0.0, floor=3)


def read_messages(data_dir: Path, limit: int, offset: int = 0) -> list[dict[str, str]]:
    """Every 30th labelled message from `offset` (the file is sorted by label)."""
    with open(data_dir / "messages_labelled.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[offset::30][:limit]


def _when(n: int, row: dict[str, str]) -> datetime:
    """The message's time; most rows carry none, so spread those over 18 months."""
    if row["time"]:
        return datetime.fromisoformat(row["time"]).replace(tzinfo=UTC)
    return datetime(2019, 1, 1, tzinfo=UTC) + timedelta(days=(n * 7) % 540)


@functools.lru_cache(maxsize=4096)
def _analysed(title: str, body: str) -> tuple[str, str]:
    """Search text and topic tokens exactly as the priorities service stores them."""
    analysis = analyse(title + "\n" + body)
    return " " + " ".join(analysis.search_tokens) + " ", " ".join(analysis.tokens)


def load_messages(
    data_dir: Path, limit: int = 300, offset: int = 0, *, bulk: bool = True
) -> list[Priority]:
    """Publish real messages, alternately in 芙蓉区 and 天心区: through the service one by one,
    or (bulk) as rows carrying the same stored tokens, segmented once per test session."""
    authors = [make_user(home_code=HOME), make_user(home_code=NEIGHBOUR)]
    created = []
    for n, row in enumerate(read_messages(data_dir, limit, offset)):
        author = authors[n % 2]
        title = row["title"][:80].strip() or "无标题留言"
        body = row["body"][:5000].strip() or title
        when = _when(n, row)
        if bulk:
            search_text, tokens = _analysed(title, body)
            priority = Priority(
                title=title,
                body=body,
                locality_code=author.home_code,
                province_code=author.home_code[:2],
                author_id=author.id,
                status="published",
                threshold=3,
                search_text=search_text,
                tokens=tokens,
                created_at=when,
                updated_at=when,
                published_at=when,
            )
            db.session.add(priority)
        else:
            data = PriorityInput(title, body, author.home_code, None, False)
            priority = create_priority(db.session, author, data, rule=RULE, now=when)
        priority.label = row["label"]  # the human label, kept on the object for measuring only
        created.append(priority)
    db.session.commit()
    return created


@pytest.fixture
def loaded(app, data_dir: Path) -> list[Priority]:
    return load_messages(data_dir)


def assignments(build_id: int) -> dict[int, int]:
    rows = db.session.execute(
        select(PriorityTheme.priority_id, PriorityTheme.theme_id).where(
            PriorityTheme.build_id == build_id
        )
    )
    return dict(rows.all())


def test_priorities_store_topic_tokens_once(app, data_dir: Path) -> None:
    [first] = load_messages(data_dir, limit=1, bulk=False)
    assert (first.search_text, first.tokens) == _analysed(first.title, first.body)
    assert first.tokens and " " in first.tokens
    assert first.search_text.startswith(" ") and first.search_text.endswith(" ")
    # Topic tokens drop place codes such as A市 / A3区; search tokens keep places.
    assert "A3区" not in first.tokens.split()


def test_build_stores_named_themes_and_one_assignment_per_priority(
    loaded: list[Priority],
) -> None:
    build = service.build_themes(db.session, n_themes=7, batch_size=128)
    db.session.commit()
    assert build.status == "done" and build.n_themes == 7 and build.n_priorities == len(loaded)
    themes = list(db.session.scalars(select(Theme).where(Theme.build_id == build.id)))
    assert len(themes) == 7
    assert sum(t.size for t in themes) == len(loaded)
    assert all(t.label and t.keywords for t in themes)
    assigned = assignments(build.id)
    assert set(assigned) == {p.id for p in loaded}
    for theme in themes:
        assert assigned[theme.representative_priority_id] == theme.id
        assert theme.size == sum(1 for t in assigned.values() if t == theme.id)
    # Themes follow topics: clearly better than chance against the organisers' labels.
    by_id = {p.id: p.label for p in loaded}
    ids = sorted(assigned)
    nmi = normalized_mutual_info_score([by_id[i] for i in ids], [assigned[i] for i in ids])
    assert nmi > 0.25, nmi


def test_new_priority_is_assigned_on_arrival(loaded: list[Priority], data_dir: Path) -> None:
    build = service.build_themes(db.session, n_themes=7)
    db.session.commit()
    sizes = dict(db.session.execute(select(Theme.id, Theme.size)).all())
    [late] = load_messages(data_dir, limit=1, offset=15, bulk=False)
    [(theme_id, confidence)] = db.session.execute(
        select(PriorityTheme.theme_id, PriorityTheme.confidence).where(
            PriorityTheme.priority_id == late.id, PriorityTheme.build_id == build.id
        )
    ).all()
    assert 0.0 <= confidence <= 1.0
    db.session.expire_all()
    assert db.session.get(Theme, theme_id).size == sizes[theme_id] + 1
    assert service.theme_id_for(db.session, late.id) == theme_id
    # The cached model gives the same theme a fresh unpickle gives.
    model = service.load_model(db.session, build.id, build.key)
    expected = model.predict([late.tokens.split()])[0]
    assert db.session.get(Theme, theme_id).number == expected


def test_drafts_are_not_assigned_until_published(loaded: list[Priority]) -> None:
    service.build_themes(db.session, n_themes=5)
    db.session.commit()
    author = make_user()
    draft = create_priority(
        db.session,
        author,
        PriorityInput(
            "公交线路调整建议", "希望增加夜班公交线路，方便晚归的上班族出行。", HOME, None, True
        ),
        rule=RULE,
    )
    db.session.commit()
    assert service.theme_id_for(db.session, draft.id) is None


def test_died_build_resumes_from_its_checkpoint(loaded: list[Priority]) -> None:
    calls = 0

    def commit_then_die() -> None:
        nonlocal calls
        db.session.commit()
        calls += 1
        if calls == 4:  # build row, model + themes, then two committed assignment batches
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.build_themes(db.session, n_themes=6, batch_size=100, checkpoint=commit_then_die)
    db.session.rollback()
    died = db.session.scalar(select(ThemeBuild))
    assert died.status == "assigning" and died.model is not None
    assert (
        len(assignments(died.id))
        == 200
        == len([p for p in loaded if p.id <= died.assigned_through])
    )
    resumed = service.build_themes(db.session, n_themes=6, batch_size=100)
    db.session.commit()
    assert resumed.id == died.id and resumed.status == "done"
    assert set(assignments(resumed.id)) == {p.id for p in loaded}
    assert db.session.scalar(select(func.count()).select_from(ThemeBuild)) == 1


def test_restart_abandons_an_interrupted_build(loaded: list[Priority]) -> None:
    def die_after_model() -> None:
        db.session.commit()
        if db.session.scalar(select(ThemeBuild.status)) == "assigning":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.build_themes(db.session, n_themes=6, checkpoint=die_after_model)
    db.session.rollback()
    fresh = service.build_themes(db.session, n_themes=4, restart=True)
    db.session.commit()
    statuses = sorted(db.session.scalars(select(ThemeBuild.status)))
    assert statuses == ["done", "failed"] and fresh.n_themes == 4
    assert set(db.session.scalars(select(Theme.build_id))) == {fresh.id}
    assert set(db.session.scalars(select(PriorityTheme.build_id))) == {fresh.id}
    assert len(assignments(fresh.id)) == len(loaded)


def test_a_build_that_died_while_fitting_is_failed_and_restarted(loaded: list[Priority]) -> None:
    db.session.add(ThemeBuild(key="x" * 32, scope_code="000000", status="fitting"))
    db.session.commit()
    build = service.build_themes(db.session, n_themes=4)
    db.session.commit()
    statuses = dict(db.session.execute(select(ThemeBuild.key, ThemeBuild.status)).all())
    assert statuses["x" * 32] == "failed" and statuses[build.key] == "done"


def test_rebuild_supersedes_the_previous_themes(loaded: list[Priority]) -> None:
    first = service.build_themes(db.session, n_themes=5)
    db.session.commit()
    old_theme_ids = set(db.session.scalars(select(Theme.id)))
    second = service.build_themes(db.session, n_themes=8)
    db.session.commit()
    db.session.refresh(first)
    assert first.status == "superseded" and first.model is None
    assert not assignments(first.id)
    current = set(db.session.scalars(select(Theme.id)))
    assert len(current) == 8 and not current & old_theme_ids
    assert service.current_build(db.session, "000000").id == second.id
    assert service.theme_id_for(db.session, loaded[0].id) in current


def test_scope_builds_and_fallback_counts_for_a_subtree(app, loaded: list[Priority]) -> None:
    with app.test_request_context(), pytest.raises(Conflict):
        service.build_themes(db.session, "110101")  # Beijing: nobody wrote there
    db.session.rollback()
    service.build_themes(db.session, PREFECTURE, n_themes=5)
    db.session.commit()
    locality, themes = service.themes_for(db.session, HOME)
    home_count = sum(1 for p in loaded if p.locality_code == HOME)
    assert locality.code == HOME and sum(t.size for t in themes) == home_count
    # Subtree counts are computed, not saved over the scope's stored totals.
    stored = db.session.scalar(select(func.sum(Theme.size)))
    assert stored == len(loaded)
    _, national = service.themes_for(db.session, None)
    assert national == []  # no national build yet


def test_priorities_written_before_tokens_existed_are_segmented_by_the_build(
    loaded: list[Priority],
) -> None:
    legacy = Priority.id <= loaded[49].id
    db.session.execute(update(Priority).where(legacy).values(tokens=None))
    db.session.commit()
    build = service.build_themes(db.session, n_themes=5)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Priority.tokens.is_(None))) == 0
    refilled = db.session.scalars(select(Priority).where(legacy).order_by(Priority.id))
    assert [p.tokens for p in refilled] == [_analysed(p.title, p.body)[1] for p in loaded[:50]]
    assert len(assignments(build.id)) == len(loaded)


def test_trend_localities_members_and_hot_themes(loaded: list[Priority]) -> None:
    service.build_themes(db.session, n_themes=5)
    db.session.commit()
    theme = db.session.scalar(select(Theme).order_by(Theme.size.desc()).limit(1))
    series = service.trend(db.session, theme, months=120)
    assert sum(n for _, n in series) == theme.size
    assert len(service.trend(db.session, theme, months=6)) == 6
    assert [m for m, _ in series] == sorted(m for m, _ in series)
    places = service.strongest_localities(db.session, theme)
    assert {p["code"] for p in places} <= {HOME, NEIGHBOUR}
    assert sum(p["priorities"] for p in places) == theme.size
    page, total = service.members(db.session, theme, page=2, page_size=10)
    assert total == theme.size and len(page) == min(10, max(0, total - 10))
    chart = service.bar_chart(series)
    assert max(b["height"] for b in chart["bars"]) == pytest.approx(chart["height"] - 14)

    # Hot: supports in the last 30 days on one theme's priority put that theme first.
    quiet = db.session.scalar(select(Theme).order_by(Theme.size.asc()).limit(1))
    member = db.session.scalar(
        select(PriorityTheme.priority_id).where(PriorityTheme.theme_id == quiet.id).limit(1)
    )
    now = datetime.now(UTC)
    for _ in range(3):
        voter = make_user(home_code=db.session.get(Priority, member).locality_code)
        support(db.session, member, voter, now=now - timedelta(days=1))
    db.session.commit()
    hot = service.hot_themes(db.session, None, now=now)
    assert hot[0]["id"] == quiet.id and hot[0]["supports_recent"] == 3
