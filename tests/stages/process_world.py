"""A hand-built process for the dashboard and export tests: items placed in each stage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from massline.accounts.models import User
from massline.extensions import db
from massline.localities.models import Locality
from massline.priorities.models import Comment, Priority, Support
from massline.stages import service
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
from tests.factories import ELSEWHERE, NEIGHBOUR, PREFECTURE, make_priority, make_user

DAY = timedelta(days=1)


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


def at(t0: datetime, days: float) -> datetime:
    return t0 + timedelta(days=days)


def build(t0: datetime) -> World:
    """Items placed on purpose in each stage, in the gap, on a boundary and in another process."""
    facilitator = make_user(display_name="主持人", roles=(("facilitator", PREFECTURE),))
    a = make_user(display_name="甲", email="jia@example.cn")
    b = make_user(display_name="乙", home_code=NEIGHBOUR, email="yi@example.cn")
    c = make_user(display_name="丙")
    d = make_user(display_name="丁", home_code=ELSEWHERE)
    stages = [
        StageInput("proposal", "提出建议", t0, at(t0, 10), ("submit", "support", "comment")),
        StageInput("opinion", "意见征集", at(t0, 10), at(t0, 18), ("statement", "vote")),
        StageInput("reflection", "讨论反思", at(t0, 20), at(t0, 30), ("comment",)),
        StageInput("decision", "决定与答复", at(t0, 30), at(t0, 40), ()),
    ]
    prefecture = db.session.get(Locality, PREFECTURE)
    process = service.create_process(
        db.session, facilitator, title="社区微更新", description="公共空间怎么改？",
        locality=prefecture, template="custom", stages=stages,
    )  # fmt: skip
    # Advancing exactly at the planned boundaries keeps the windows as planned.
    service.advance(db.session, facilitator, process, '=HYPERLINK("http://x")', at(t0, 10))
    service.advance(db.session, facilitator, process, "按计划进入讨论", at(t0, 20))
    other = service.create_process(
        db.session, facilitator, title="另一个", description="不算", locality=prefecture,
        template="custom", stages=stages[:1],
    )  # fmt: skip
    db.session.commit()

    def priority(author: User, days: float, **overrides: object) -> Priority:
        made = make_priority(author, **overrides)
        made.process_id, made.created_at = process.id, at(t0, days)
        return made

    p1 = priority(a, 1, title="=1+1")
    p2 = priority(b, 2)
    priority(c, 3, draft=True)  # a draft was never submitted
    elsewhere = make_priority(a)
    elsewhere.process_id = other.id
    db.session.add_all([
        Support(priority_id=p1.id, user_id=c.id, created_at=at(t0, 4)),
        Support(priority_id=p1.id, user_id=b.id, created_at=at(t0, 5)),
        Support(priority_id=p2.id, user_id=a.id, created_at=at(t0, 12)),
        Comment(priority_id=p1.id, user_id=c.id, body="+SUM(A1)", created_at=at(t0, 6)),
        Comment(priority_id=p2.id, user_id=a.id, body="在两个阶段之间", created_at=at(t0, 19)),
        Comment(priority_id=p2.id, user_id=c.id, body="讨论中", created_at=at(t0, 23)),
        Comment(priority_id=elsewhere.id, user_id=c.id, body="别的进程", created_at=at(t0, 6)),
    ])  # fmt: skip
    seeded = Statement(
        process_id=process.id,
        author_id=facilitator.id,
        text="增加座椅",
        seeded=True,
        status="approved",
        created_at=at(t0, 10.5),
    )
    on_boundary = Statement(
        process_id=process.id,
        author_id=b.id,
        text="-2+3",
        status="approved",
        created_at=at(t0, 10),
    )
    pending = Statement(
        process_id=process.id, author_id=a.id, text="应该多种树", created_at=at(t0, 11)
    )
    db.session.add_all([seeded, on_boundary, pending,
                        Statement(process_id=other.id, author_id=a.id, text="别处",
                                  created_at=at(t0, 11))])  # fmt: skip
    db.session.flush()
    for voter, value, days in ((a, 1, 13), (c, -1, 14), (d, 0, 14)):
        db.session.add(StatementVote(statement_id=seeded.id, user_id=voter.id, value=value,
                                     created_at=at(t0, days), updated_at=at(t0, 17)))  # fmt: skip
    reflection = process.stages[2]
    db.session.add_all([
        WallPost(process_id=process.id, stage_id=reflection.id, author_id=b.id, body="@cmd",
                 created_at=at(t0, 21), revision=1),
        WallPost(process_id=process.id, stage_id=reflection.id, author_id=d.id, body="远程参会",
                 created_at=at(t0, 22), revision=2),
        ProcessFollow(process_id=process.id, user_id=a.id, created_at=at(t0, 1)),
        ProcessFollow(process_id=process.id, user_id=b.id, created_at=at(t0, 2)),
        ProcessFollow(process_id=other.id, user_id=c.id, created_at=at(t0, 2)),
        ProcessUpdate(process_id=process.id, author_id=facilitator.id, title="开始了",
                      body="欢迎", created_at=at(t0, 1)),
        ProcessUpdate(process_id=process.id, author_id=facilitator.id, title="进入讨论",
                      body="\t=cmd", created_at=at(t0, 20)),
        StageAttachment(stage_id=reflection.id, filename="议程.pdf", content_type="application/pdf",
                        size=1234, storage_key="k" * 64, uploaded_by_id=facilitator.id),
    ])  # fmt: skip
    db.session.commit()
    return World(process, t0, facilitator, a, b, c, d, p1)


T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
