"""The `flask` commands: setup, users create, tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from massline.accounts.models import User
from massline.extensions import db
from massline.localities.models import Locality
from massline.priorities.models import Category, Priority
from tests.factories import ELSEWHERE, HOME, PREFECTURE, make_priority, make_user


def invoke(app, *args: str):  # noqa: ANN201
    """Run one command as `flask --app massline …` would."""
    return app.test_cli_runner().invoke(args=list(args))


def test_setup_is_idempotent(app):
    """The session fixture already ran the same steps: a second setup changes nothing."""
    localities = db.session.scalar(select(func.count()).select_from(Locality))
    categories = db.session.scalar(select(func.count()).select_from(Category))
    db.session.rollback()  # on SQLite even a read holds the write lock the command needs
    result = invoke(app, "setup")
    assert result.exit_code == 0, result.output
    assert "localities: 0 new, 0 updated; categories: 0 new" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Locality)) == localities
    assert db.session.scalar(select(func.count()).select_from(Category)) == categories


def test_users_create_with_role_scope_and_verification(app):
    result = invoke(
        app,
        "users",
        "create",
        "139 0000 1111",
        "--locality",
        HOME,
        "--role",
        "facilitator",
        "--scope",
        PREFECTURE,
        "--password",
        "long-enough-pw",
        "--name",
        "主持人",
        "--verified",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.phone == "13900001111")).one()
    assert user.display_name == "主持人" and user.is_verified and user.password_hash
    assert [(r.role, r.scope_code) for r in user.roles] == [("facilitator", PREFECTURE)]

    plain = invoke(app, "users", "create", "13900002222", "--locality", ELSEWHERE)
    assert plain.exit_code == 0, plain.output
    citizen = db.session.scalars(select(User).where(User.phone == "13900002222")).one()
    assert not citizen.is_verified and citizen.roles == [] and citizen.home_code == ELSEWHERE
    worker = invoke(
        app, "users", "create", "13900003333", "--locality", HOME, "--role", "community_worker"
    )
    assert worker.exit_code == 0
    held = db.session.scalars(select(User).where(User.phone == "13900003333")).one().roles
    assert [(r.role, r.scope_code) for r in held] == [("community_worker", HOME)]


@pytest.mark.parametrize(
    "args",
    [
        ["13900001111", "--locality", HOME],  # taken (created first in the test)
        ["12345", "--locality", HOME],
        ["13900004444", "--locality", "999999"],
        ["13900004444", "--locality", HOME, "--role", "emperor"],
        ["13900004444", "--locality", HOME, "--role", "official", "--scope", "999999"],
        ["13900004444"],
    ],
    ids=["taken", "bad-phone", "unknown-locality", "unknown-role", "unknown-scope", "no-locality"],
)
def test_users_create_refusals_store_nothing(app, args):
    make_user(phone="13900001111")
    result = invoke(app, "users", "create", *args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_tick_archives_stale_published_priorities_once(app):
    now = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    stale = make_priority(title="一年多没人理的建议")
    fresh = make_priority(title="上个月刚提交的建议")
    won = make_priority(title="早就成功了的建议")
    draft = make_priority(title="很早以前写的草稿", draft=True)
    stale.published_at = now - timedelta(days=370)
    fresh.published_at = now - timedelta(days=30)
    won.published_at = now - timedelta(days=500)
    won.status = "successful"
    draft.created_at = now - timedelta(days=800)
    db.session.commit()

    first = invoke(app, "tick", "--now", now.isoformat())
    assert first.exit_code == 0, first.output
    assert "archived: 1" in first.output
    db.session.expire_all()
    statuses = {p.title: p.status for p in db.session.scalars(select(Priority))}
    assert statuses == {
        "一年多没人理的建议": "archived",
        "上个月刚提交的建议": "published",
        "早就成功了的建议": "successful",
        "很早以前写的草稿": "draft",
    }
    assert db.session.get(Priority, stale.id).archived_at is not None
    again = invoke(app, "tick", "--now", now.isoformat())
    assert "archived: 0" in again.output

    bad = invoke(app, "tick", "--now", "next tuesday")
    assert bad.exit_code != 0 and "ISO" in bad.output
