"""The opinion stage: statements, moderation, votes and the Pol.is-style groups."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from cachetools import LRUCache
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import has_role, lives_in, require_role
from massline.errors import DomainError, Forbidden, NotFound, Unauthorized
from massline.opinion import OpinionGroups, build_vote_matrix
from massline.opinion.routing import weighted_order
from massline.sql import insert_ignoring_duplicates
from massline.stages.models import Process, Statement, StatementVote
from massline.stages.service import FACILITATOR, require_action


def require_participant(user: User | None, process: Process) -> User:
    """The user, if they may take part here: verified, and living in the place (or facilitating)."""
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
        require_participant(user, process)
        require_action(process, "statement", now)
    status = "approved" if seeded or not process.strict_moderation else "pending"
    statement = Statement(
        process_id=process.id, author_id=user.id, text=text, seeded=seeded, status=status
    )
    session.add(statement)
    session.flush()
    return statement


def refusal(user: User | None, process: Process) -> DomainError | None:
    """Why `user` may not vote or add statements in `process`, or None if they may."""
    try:
        require_participant(user, process)
    except DomainError as error:
        return error
    return None


def get_statement(session: Session, statement_id: int, process_id: int | None = None) -> Statement:
    """A statement by id (of the given process, when one is given), or NotFound."""
    found = session.get(Statement, statement_id) if 0 < statement_id < 2**31 else None
    if found is None or (process_id is not None and found.process_id != process_id):
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
    voter = require_participant(user, process)
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


def statements_with_status(session: Session, process: Process, status: str) -> list[Statement]:
    """The process's statements in one moderation state, oldest first."""
    query = (
        select(Statement)
        .where(Statement.process_id == process.id, Statement.status == status)
        .order_by(Statement.id)
    )
    return list(session.scalars(query))


def visible_statements(session: Session, process: Process) -> list[Statement]:
    """Approved statements, oldest first."""
    return statements_with_status(session, process, "approved")


def user_votes(
    session: Session, process: Process, user: User | None
) -> list[tuple[Statement, int]]:
    """The user's votes on the process's approved statements, oldest statement first."""
    if user is None:
        return []
    query = (
        select(Statement, StatementVote.value)
        .join(StatementVote, StatementVote.statement_id == Statement.id)
        .where(
            Statement.process_id == process.id,
            Statement.status == "approved",
            StatementVote.user_id == user.id,
        )
        .order_by(Statement.id)
    )
    return [(statement, value) for statement, value in session.execute(query)]


@dataclass(frozen=True, eq=False)
class OpinionFit:
    """The fitted engine (for routing) and its report as plain dicts (statement ids, no texts)."""

    model: OpinionGroups
    report: dict[str, Any]


# Fits kept per process, in this worker process only: each gunicorn worker has its own cache
# and fits on its first view of a process. Small, because a fit holds the vote matrix.
_FITS: LRUCache = LRUCache(maxsize=32)
_FITS_LOCK = threading.Lock()


def vote_fingerprint(session: Session, process: Process) -> tuple[int, datetime | None, int]:
    """(votes on approved statements, newest vote change, approved statements) of a process."""
    # Any new or changed vote, and any statement approved or rejected, changes one of the three.
    approved = (
        select(func.count(Statement.id))
        .where(Statement.process_id == process.id, Statement.status == "approved")
        .scalar_subquery()
    )
    query = (
        select(func.count(StatementVote.id), func.max(StatementVote.updated_at), approved)
        .join(Statement, Statement.id == StatementVote.statement_id)
        .where(Statement.process_id == process.id, Statement.status == "approved")
    )
    votes, newest, statements = session.execute(query).one()
    return int(votes), newest, int(statements)


def opinion_fit(session: Session, process: Process, *, min_votes: int = 7) -> OpinionFit | None:
    """The engine fitted on the process's votes (None without any), cached per fingerprint."""
    fingerprint = vote_fingerprint(session, process)
    if fingerprint[0] == 0:
        return None
    # created_at tells apart two processes that had the same id in turn (a reset database).
    key = (process.id, process.created_at, min_votes)
    with _FITS_LOCK:
        cached = _FITS.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    # Two requests missing at once both fit; the later simply replaces the earlier.
    fit = _fit(session, process, min_votes)
    with _FITS_LOCK:
        _FITS[key] = (fingerprint, fit)
    return fit


def _fit(session: Session, process: Process, min_votes: int) -> OpinionFit:
    rows = session.execute(
        select(StatementVote.user_id, StatementVote.statement_id, StatementVote.value)
        .join(Statement, Statement.id == StatementVote.statement_id)
        .where(Statement.process_id == process.id, Statement.status == "approved")
        # A fixed row order: the same votes give the same groups on every worker and refit.
        .order_by(StatementVote.id)
    ).all()
    matrix, people, ids = build_vote_matrix([tuple(r) for r in rows])
    needed = max(1, min(min_votes, len(ids)))
    model = OpinionGroups(min_votes=needed, random_state=0).fit(
        matrix, participant_ids=people, statement_ids=ids
    )
    return OpinionFit(model=model, report=model.report_.to_dict(include_points=True))


def describe_groups(fit: OpinionFit | None, texts: dict[int, str]) -> dict[str, Any]:
    """The opinion-groups payload: the fit's report with each statement's text."""
    if fit is None:
        return {"groups": [], "consensus": [], "divisive": [], "points": [], "participants": 0}
    report = fit.report

    def named(items: list[dict]) -> list[dict]:
        return [{**item, "text": texts.get(item["statement"], "")} for item in items]

    return {
        "groups": [{**g, "representative": named(g["representative"])} for g in report["groups"]],
        "consensus": named(report["consensus"]),
        "divisive": named(report["divisive"]),
        "points": report["points"],
        "participants": report["n_participants"],
    }


def opinion_groups(session: Session, process: Process, *, min_votes: int = 7) -> dict[str, Any]:
    """Participants grouped by their votes; representative, consensus and divisive statements."""
    texts = {s.id: s.text for s in visible_statements(session, process)}
    return describe_groups(opinion_fit(session, process, min_votes=min_votes), texts)


def next_statements(
    session: Session,
    process: Process,
    user: User | None,
    n: int = 1,
    *,
    seed: int | None = None,
    fit: OpinionFit | None = None,
) -> list[Statement]:
    """Up to `n` approved statements the user has not voted on, new and informative first.

    Pol.is routing: a weighted random draw by the engine's priority (informativeness with a
    boost for statements with few votes); `seed` makes the draw reproducible. Pass `fit` when
    the caller already has it, to save the fingerprint query.
    """
    candidates = visible_statements(session, process)
    if n < 1 or not candidates:
        return []
    voted = {statement.id for statement, _value in user_votes(session, process, user)}
    fit = fit or opinion_fit(session, process)
    by_id = {s.id: s for s in candidates}
    if fit is None:
        # Nobody has voted: every statement is equally new, so the draw is uniform.
        unvoted = [s.id for s in candidates if s.id not in voted]
        order = weighted_order(np.ones(len(unvoted)), np.random.default_rng(seed))
        chosen = [unvoted[i] for i in order[:n]]
    else:
        chosen = fit.model.route(
            user.id if user is not None else None,
            voted=voted,
            candidates=list(by_id),
            limit=n,
            random_state=seed,
        )
    return [by_id[statement_id] for statement_id in chosen]
