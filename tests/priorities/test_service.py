"""Priority rules without HTTP: thresholds, supports, editing, archiving, search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from massline.errors import Conflict, Forbidden
from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import utcnow
from massline.priorities import queries, service
from massline.priorities.schemas import PriorityInput, RetireInput
from tests.factories import ELSEWHERE, HOME, NEIGHBOUR, PREFECTURE, make_priority, make_user


@pytest.fixture
def ctx(app):
    """A request context, so refusals can render their messages."""
    with app.test_request_context():
        yield app


def test_threshold_from_census_population_with_floor_and_level_rates(ctx):
    furong = db.session.get(Locality, HOME)
    changsha = db.session.get(Locality, PREFECTURE)
    rule = service.ThresholdRule(rate=0.01, floor=100)
    assert rule.for_locality(furong) == -(-furong.population // 100)
    assert service.ThresholdRule(rate=0.0, floor=100).for_locality(furong) == 100
    by_level = service.ThresholdRule(rate=0.01, floor=1, rates_by_level=(("prefecture", 0.001),))
    assert by_level.for_locality(changsha) == -(-changsha.population // 1000)
    assert by_level.for_locality(furong) == rule.for_locality(furong)


def test_support_once_then_successful_at_threshold(ctx):
    priority = make_priority(threshold_floor=2)
    first, second = make_user(), make_user()
    created = service.support(db.session, priority.id, first)
    replay = service.support(db.session, priority.id, first)
    assert (created.created, replay.created) == (True, False)
    assert replay.supports == 1 and replay.status == "published"
    done = service.support(db.session, priority.id, second)
    assert (done.supports, done.status) == (2, "successful")
    db.session.refresh(priority)
    assert priority.successful_at is not None
    assert service.has_supported(db.session, priority, first)
    assert service.is_following(db.session, priority, second)  # supporters follow


def test_support_rules(ctx):
    priority = make_priority()
    with pytest.raises(Forbidden):
        service.support(db.session, priority.id, make_user(verified=False))
    with pytest.raises(Forbidden):
        service.support(db.session, priority.id, make_user(home_code=ELSEWHERE))
    prefecture_wide = make_priority(make_user(), locality_code=PREFECTURE)
    # a neighbour district lies inside 长沙市: may support the city-wide priority
    assert service.support(db.session, prefecture_wide.id, make_user(home_code=NEIGHBOUR)).created
    priority.hidden_at = utcnow()
    moderator = make_user(roles=(("facilitator", HOME),))
    with pytest.raises(Conflict):
        service.support(db.session, priority.id, moderator)


def test_offline_supports_count_toward_the_threshold(ctx):
    priority = make_priority(threshold_floor=5)
    service.add_offline_supports(db.session, priority, 4, utcnow())
    assert (priority.total_supports, priority.status) == (4, "published")
    result = service.support(db.session, priority.id, make_user())
    assert (result.supports, result.status) == (5, "successful")


def test_edit_rules(ctx):
    author = make_user()
    text = PriorityInput("换一个标题试试看", "正文也改一改，写得更清楚一些。", HOME, None, False)
    draft = make_priority(author, draft=True)
    moved = PriorityInput(text.title, text.body, PREFECTURE, None, True)
    service.edit_priority(db.session, draft, author, moved)
    assert draft.locality_code == PREFECTURE  # a draft may move within the author's places
    published = make_priority(author)
    with pytest.raises(Conflict):  # the locality is fixed once published
        service.edit_priority(db.session, published, author, moved)
    with pytest.raises(Forbidden):
        service.edit_priority(db.session, published, make_user(), text)
    service.edit_priority(db.session, published, author, text)
    assert published.title == "换一个标题试试看"
    service.support(db.session, published.id, make_user())
    db.session.refresh(published)
    with pytest.raises(Conflict):
        service.edit_priority(db.session, published, author, text)
    service.retire(db.session, published, author, RetireInput("done", "已经解决"))
    assert (published.status, published.retire_reason) == ("retired", "done")
    with pytest.raises(Conflict):
        service.retire(db.session, published, author, RetireInput("done", "再来一次"))


def test_archive_after_twelve_months_exactly(ctx):
    now = utcnow()
    old = make_priority(title="刚好一年多一天的建议")
    young = make_priority(title="差一天满一年的建议")
    old.published_at = now - timedelta(days=366)
    young.published_at = now - timedelta(days=364)
    db.session.commit()
    assert service.archive_stale(db.session, now, months=12) == 1
    assert service.archive_stale(db.session, now, months=12) == 0
    db.session.expire_all()
    assert (old.status, young.status) == ("archived", "published")


def test_chinese_search_and_similar_titles(ctx):
    lamp = make_priority(title="小区路灯坏了没人修", body="晚上回家很黑，路灯已经坏了两个月。")
    make_priority(title="菜市场污水横流", body="下雨以后菜市场门口全是污水，很难走路。")
    items, total = queries.list_priorities(db.session, queries.ListQuery(q="路灯"), page_size=20)
    assert (total, [p.id for p in items]) == (1, [lamp.id])
    none, zero = queries.list_priorities(db.session, queries.ListQuery(q="高铁"), page_size=20)
    assert (none, zero) == ([], 0)
    similar = queries.similar_titles(db.session, "我们小区的路灯坏了")
    assert similar and similar[0].id == lamp.id
    assert queries.similar_titles(db.session, "") == []
