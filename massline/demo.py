"""Demo data for `setup --demo`: real citizen messages as priorities, in a real city."""

from __future__ import annotations

import csv
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from massline.accounts.models import User
from massline.accounts.service import create_user, grant_role
from massline.feasibility.models import Report
from massline.feasibility.schemas import ReportInput
from massline.feasibility.service import open_reports, publish_report, update_report
from massline.localities.models import Locality
from massline.models_common import utcnow
from massline.priorities import service
from massline.priorities.categories import slug_for_label
from massline.priorities.models import Priority
from massline.priorities.schemas import BODY_MAX, TITLE_MAX, PriorityInput
from massline.stages.briefings import edit_briefing
from massline.stages.schemas import BriefingInput
from massline.stages.service import advance_due, create_process, stages_from_template
from massline.stages.statements import add_statement, vote
from massline.stages.updates import follow
from massline.stages.wall import post_comment, publish_summary
from massline.themes.service import build_themes

DEMO_PREFECTURE = "430100"  # 长沙市: the Teddy Cup messages come from a provincial capital
DEMO_PASSWORD = "massline-demo"
STAFF = (
    ("13800000001", "管理员", "admin", "000000"),
    ("13800000002", "社区工作者小王", "community_worker", DEMO_PREFECTURE),
    ("13800000003", "主持人老李", "facilitator", DEMO_PREFECTURE),
    ("13800000004", "市政府办公室", "official", DEMO_PREFECTURE),
    ("13800000005", "中央规划员", "planner", "000000"),
)


def _counties(session: Session) -> list[Locality]:
    return list(
        session.scalars(
            select(Locality)
            .where(Locality.parent_code == DEMO_PREFECTURE, Locality.is_standard.is_(True))
            .order_by(Locality.code)
        )
    )


def _messages(data_dir: Path, limit: int) -> list[dict[str, str]]:
    with open(data_dir / "messages_labelled.csv", encoding="utf-8", newline="") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if 4 <= len(row["title"]) <= TITLE_MAX and 10 <= len(row["body"]) <= BODY_MAX
        ]
    random.Random(7).shuffle(rows)
    return rows[:limit]


def load_demo(
    session: Session, data_dir: Path, *, rule: service.ThresholdRule, priorities: int = 400
) -> dict[str, int]:
    """Create demo staff, citizens, priorities and supports once; a second run adds nothing."""
    if session.scalar(select(func.count(User.id)).where(User.phone.like("138000000%"))):
        return {"users": 0, "priorities": 0, "supports": 0}
    counties = _counties(session)
    rng = random.Random(2020)
    now = utcnow()
    for phone, name, role, scope in STAFF:
        staff = create_user(
            session,
            phone=phone,
            display_name=name,
            home_code=counties[0].code,
            password=DEMO_PASSWORD,
            verified=True,
        )
        grant_role(session, staff, role, scope)
    citizens = [
        create_user(
            session,
            phone=f"1390000{i:04d}",
            display_name=f"居民{i:03d}",
            home_code=counties[i % len(counties)].code,
            verified=True,
        )
        for i in range(120)
    ]
    # One deliberate slow hash, shared: the demo citizens all use the same password.
    shared_hash = generate_password_hash(DEMO_PASSWORD)
    for citizen in citizens:
        citizen.password_hash = shared_hash
    made = supports = 0
    for row in _messages(data_dir, priorities):
        author = rng.choice(citizens)
        when = now - timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 1440))
        data = PriorityInput(
            title=row["title"],
            body=row["body"],
            locality_code=author.home_code,
            category=slug_for_label(row["label"]),
            draft=False,
        )
        priority = service.create_priority(session, author, data, rule=rule, now=when)
        made += 1
        neighbours = [c for c in citizens if priority.locality.contains(c.home_code)]
        for supporter in rng.sample(neighbours, k=min(len(neighbours), rng.randint(0, 12))):
            supports += service.support(
                session, priority.id, supporter, now=when + timedelta(hours=1)
            ).created
    reports = _answer_some(session, rng, now)
    _consult(session, rng, citizens, now)
    build_themes(session)
    return {
        "users": len(citizens) + len(STAFF),
        "priorities": made,
        "supports": supports,
        "reports": reports,
    }


def _answer_some(session: Session, rng: random.Random, now) -> int:  # noqa: ANN001
    """Carry a few priorities through success and a published feasibility report.

    Demo thresholds follow the census (thousands of residents per district), which 120 demo
    citizens cannot reach, so paper supports stand in, entered by the demo community worker.
    """
    official = session.scalar(select(User).where(User.phone == STAFF[3][0]))
    chosen = session.scalars(select(Priority).where(Priority.status == "published")).all()
    for priority in rng.sample(chosen, k=min(6, len(chosen))):
        when = now - timedelta(days=rng.randint(3, 40))
        service.add_offline_supports(session, priority, priority.threshold, when)
    session.flush()
    opened = open_reports(session, now, months=1)
    for report in session.scalars(select(Report).order_by(Report.id).limit(2)):
        values = {
            "legality": "lawful",
            "legal_basis": "《中华人民共和国城乡规划法》及本市相关规定",
            "feasibility": "feasible",
            "feasibility_explanation": "由区相关部门牵头实施，预计三个月内完成。",
            "cost_estimate": Decimal("250000"),
            "department": "区住房和城乡建设局",
            "decision": "adopt",
        }
        update_report(session, report, official, ReportInput(values))
        publish_report(session, report, official, now=now)
    return opened


STATEMENTS = (
    ("小区里应该增加停车位", 0),
    ("应该把空地改成绿地和小公园", 1),
    ("应该给老人增加休息座椅", 1),
    ("儿童游乐设施很有必要", None),
    ("改造费用应由政府全额承担", 0),
    ("改造方案要先让居民投票", None),
)


PROPOSAL_SUMMARY = (
    "两周内收到居民建议 46 条，集中在停车、绿地和老人休息设施三方面。"
    "意见征集阶段将就这些问题请大家逐条表态。"
)
OPINION_BRIEFING = """**请对每一条观点表态：同意、不同意或跳过。**

- 每条观点不超过 140 字，您也可以提出新的观点；
- 投票结束后，我们会公布各意见群体的共识和分歧，并在讨论反思阶段召开居民议事会。

相关政策：[长沙市老旧小区改造](https://www.changsha.gov.cn/)"""
WALL_COMMENTS = (
    "停车位和绿地能不能兼顾？比如做立体停车。",
    "希望议事会安排在周末，上班族也能参加。",
    "老人休息座椅最好有遮阳。",
)


def _consult(session: Session, rng: random.Random, citizens: list[User], now) -> None:  # noqa: ANN001
    """A vTaiwan-style consultation in its opinion stage, with two camps of voters."""
    facilitator = session.scalar(select(User).where(User.phone == STAFF[2][0]))
    process = create_process(
        session,
        facilitator,
        title="老旧小区公共空间怎么改？",
        description="长沙市老旧小区改造：请说出您希望公共空间怎么用。",
        locality=session.get(Locality, DEMO_PREFECTURE),
        template="vtaiwan",
        stages=stages_from_template("vtaiwan", now - timedelta(days=20)),
    )
    for citizen in citizens[:30]:
        follow(session, citizen, process, now - timedelta(days=19))
    advance_due(session, now)
    proposal, opinion = process.stages[0], process.stages[1]
    publish_summary(session, facilitator, process, proposal, PROPOSAL_SUMMARY, now)
    edit_briefing(session, facilitator, opinion, BriefingInput(None, OPINION_BRIEFING))
    made = [add_statement(session, facilitator, process, text, now) for text, _camp in STATEMENTS]
    for i, citizen in enumerate(citizens[:60]):
        camp = i % 2
        for statement, (_text, leaning) in zip(made, STATEMENTS, strict=True):
            if rng.random() < 0.2:
                continue
            value = 1 if leaning is None else (1 if leaning == camp else -1)
            vote(session, citizen, statement, value if rng.random() > 0.1 else 0, now)
    for citizen, text in zip(citizens[60:], WALL_COMMENTS, strict=False):
        post_comment(session, citizen, process, text, now)
