"""The opinion stage: statements, moderation, votes and the Pol.is-style groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import has_role, lives_in, require_role
from massline.errors import Forbidden, NotFound, Unauthorized
from massline.opinion import OpinionGroups, build_vote_matrix
from massline.sql import insert_ignoring_duplicates
from massline.stages.models import Process, Statement, StatementVote
from massline.stages.service import FACILITATOR, require_action


def _participant(user: User | None, process: Process) -> User:
    if user is None:
        raise Unauthorized()
    if not user.is_verified:
        raise Forbidden(_l("Verify your phone number first."))
    if not lives_in(user, process.locality) and not has_role(user, FACILITATOR, process.locality):
        raise Forbidden(
            _l("Only residents of %(place)s can take part.", place=process.locality.name)
        )
    return user


def add_statement(
    session: Session, user: User | None, process: Process, text: str, now: datetime
) -> Statement:  # noqa: E501
    """Facilitators seed statements at any time; participants add them in the stage that allows."""
    seeded = has_role(user, FACILITATOR, process.locality)
    if not seeded:
        _participant(user, process)
        require_action(process, "statement", now)
    status = "approved" if seeded or not process.strict_moderation else "pending"
    statement = Statement(
        process_id=process.id, author_id=user.id, text=text, seeded=seeded, status=status
    )
    session.add(statement)
    session.flush()
    return statement


def get_statement(session: Session, statement_id: int) -> Statement:
    """A statement by id, or NotFound."""
    found = session.get(Statement, statement_id) if 0 < statement_id < 2**31 else None
    if found is None:
        raise NotFound()
    return found


def moderate(session: Session, user: User | None, statement: Statement, status: str) -> Statement:
    """Facilitators approve or reject statements."""
    process = session.get(Process, statement.process_id)
    require_role(user, FACILITATOR, process.locality)
    statement.status = status
    session.flush()
    return statement


def vote(
    session: Session, user: User | None, statement: Statement, value: int, now: datetime
) -> bool:
    """Agree, disagree or pass; a second vote changes the first. True if it was new."""
    process = session.get(Process, statement.process_id)
    voter = _participant(user, process)
    require_action(process, "vote", now)
    if statement.status != "approved":
        raise NotFound()
    created = insert_ignoring_duplicates(
        session,
        StatementVote,
        {
            "statement_id": statement.id,
            "user_id": voter.id,
            "value": value,
            "created_at": now,
            "updated_at": now,
        },
        ["statement_id", "user_id"],
    )
    if created is None:
        existing = session.scalar(
            select(StatementVote).where(
                StatementVote.statement_id == statement.id, StatementVote.user_id == voter.id
            )
        )
        existing.value = value
        existing.updated_at = now
        session.flush()
    return created is not None


def visible_statements(session: Session, process: Process) -> list[Statement]:
    """Approved statements, oldest first."""
    query = (
        select(Statement)
        .where(Statement.process_id == process.id, Statement.status == "approved")
        .order_by(Statement.id)
    )
    return list(session.scalars(query))


def opinion_groups(session: Session, process: Process, *, min_votes: int = 7) -> dict[str, Any]:
    """Participants grouped by their votes; representative, consensus and divisive statements."""
    statements = {s.id: s.text for s in visible_statements(session, process)}
    rows = session.execute(
        select(StatementVote.user_id, StatementVote.statement_id, StatementVote.value).where(
            StatementVote.statement_id.in_(statements)
        )
    ).all()
    if not rows:
        return {"groups": [], "consensus": [], "divisive": [], "participants": 0}
    matrix, people, ids = build_vote_matrix([tuple(r) for r in rows])
    needed = max(1, min(min_votes, len(ids)))
    report = (
        OpinionGroups(min_votes=needed, random_state=0)
        .fit(matrix, participant_ids=people, statement_ids=ids)
        .report_.to_dict(include_points=True)
    )

    def named(items: list[dict]) -> list[dict]:
        return [{**item, "text": statements.get(item["statement"], "")} for item in items]

    return {
        "groups": [{**g, "representative": named(g["representative"])} for g in report["groups"]],
        "consensus": named(report["consensus"]),
        "divisive": named(report["divisive"]),
        "points": report.get("points", []),
        "participants": report["n_participants"],
    }
