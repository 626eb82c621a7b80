"""Plain factories: make_x(**overrides) builds, commits and returns one object."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from massline.accounts.models import User
from massline.accounts.service import create_user, grant_role, issue_token
from massline.extensions import db
from massline.priorities.models import Priority
from massline.priorities.schemas import PriorityInput
from massline.priorities.service import ThresholdRule, create_priority

# Real localities used throughout: 长沙市 and two of its districts, and 北京 东城区.
PREFECTURE = "430100"
HOME = "430102"  # 芙蓉区
NEIGHBOUR = "430103"  # 天心区
ELSEWHERE = "110101"  # 北京市东城区
_phones = itertools.count(1)


def next_phone() -> str:
    """A fresh, valid mainland mobile number."""
    return f"137{next(_phones):08d}"


def make_user(
    *, roles: tuple[tuple[str, str], ...] = (), verified: bool = True, **overrides: Any
) -> User:
    """A committed user (verified, living in 芙蓉区 by default)."""
    fields = {"phone": next_phone(), "display_name": "测试用户", "home_code": HOME}
    fields.update(overrides)
    user = create_user(db.session, verified=verified, **fields)
    for role, scope in roles:
        grant_role(db.session, user, role, scope)
    db.session.commit()
    return user


def make_priority(
    author: User | None = None, *, threshold_floor: int = 3, **overrides: Any
) -> Priority:
    """A committed, published priority in the author's home locality."""
    author = author or make_user()
    fields = {
        "title": "小区门口路灯坏了三个月",
        "body": "芙蓉区某小区门口的路灯已经坏了三个月，晚上出行很不安全，希望尽快修好。",
        "locality_code": author.home_code,
        "category": None,
        "draft": False,
    }
    fields.update(overrides)
    priority = create_priority(
        db.session,
        author,
        PriorityInput(**fields),
        rule=ThresholdRule(rate=0.0, floor=threshold_floor),
    )
    db.session.commit()
    return priority


def bearer(user: User) -> dict[str, str]:
    """Authorization headers with a fresh API token for the user."""
    token = issue_token(db.session, user, days=1)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: FlaskClient, user: User) -> str:
    """Put the user in the client's session; returns a valid CSRF form token."""
    raw = "test-csrf-" + str(user.id)
    with client.session_transaction() as session:
        session["user_id"] = user.id
        session["csrf_token"] = raw
    secret = client.application.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def make_report(*, decision: str = "adopt", publish: bool = True, official: User | None = None):  # noqa: ANN201
    """A report opened for a fresh successful priority, published with `decision` by default."""
    from datetime import UTC, datetime

    from massline.feasibility.schemas import ReportInput
    from massline.feasibility.service import open_reports, publish_report, report_for, update_report
    from massline.priorities.service import mark_successful

    priority = make_priority()
    now = datetime.now(UTC)
    mark_successful(db.session, priority.id, now)
    open_reports(db.session, now, months=1)
    report = report_for(db.session, "priority", priority.id)
    if publish:
        official = official or make_user(roles=(("official", priority.locality_code),))
        values = {"legality": "lawful", "feasibility": "feasible", "decision": decision}
        if decision == "decline":
            values["decision_reasons"] = "超出权限"
        update_report(db.session, report, official, ReportInput(values))
        publish_report(db.session, report, official)
    db.session.commit()
    return report


def row_counts() -> dict[str, int]:
    """Rows in every table the tests write to (to prove a refusal stored nothing)."""
    from sqlalchemy import func, select

    from tests.conftest import KEPT_TABLES

    tables = [t for t in db.metadata.sorted_tables if t.name not in KEPT_TABLES]
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in tables}
