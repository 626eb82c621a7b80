"""The reflection meeting: the live wall of comments typed online, and stage summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import has_role, require_role
from massline.errors import Conflict, NotFound
from massline.stages.models import Process, Stage, WallPost
from massline.stages.service import FACILITATOR, require_action
from massline.stages.statements import require_participant
from massline.stages.updates import notify_followers

# How many comments a screen shows, and how many changes one poll answer carries at most.
SCREEN_SIZE = 30
POLL_BATCH = 100


@dataclass(frozen=True)
class WallChanges:
    """What a screen must apply: comments to show, ids to take down, and the next cursor."""

    items: list[WallPost]
    removed: list[int]
    cursor: int
    more: bool = False


def closed_reason(process: Process, now: datetime) -> str | None:
    """None while the current stage takes comments, else why not (naming the stage)."""
    try:
        require_action(process, "comment", now)
    except Conflict as refusal:
        return str(refusal.message)
    return None


def _current_revision(session: Session, process_id: int) -> int:
    query = select(func.max(WallPost.revision)).where(WallPost.process_id == process_id)
    return session.scalar(query) or 0


def _next_revision(session: Session, process_id: int) -> int:
    # Writers of one process's wall take turns on its row, so revisions are handed out in
    # commit order: a screen that has seen revision n can never later find one below n.
    # FOR NO KEY UPDATE leaves inserts that merely reference the process (votes, follows)
    # unblocked. SQLite ignores it; there BEGIN IMMEDIATE already serialises writers.
    lock = select(Process.id).where(Process.id == process_id).with_for_update(key_share=True)
    session.execute(lock)
    return _current_revision(session, process_id) + 1


def post_comment(
    session: Session, user: User | None, process: Process, body: str, now: datetime
) -> WallPost:
    """A resident's comment on the wall, shown at once, while the current stage takes comments."""
    author = require_participant(user, process)
    require_action(process, "comment", now)
    post = WallPost(
        process_id=process.id,
        stage_id=process.current_stage.id,
        author_id=author.id,
        body=body,
        status="visible",
        created_at=now,
        revision=_next_revision(session, process.id),
    )
    session.add(post)
    session.flush()
    return post


def get_post(session: Session, post_id: int) -> WallPost:
    """A wall post by id, or NotFound."""
    post = session.get(WallPost, post_id) if 0 < post_id < 2**31 else None
    if post is None:
        raise NotFound()
    return post


def can_moderate(user: User | None, process: Process) -> bool:
    """Whether the user facilitates in a scope containing the process's locality."""
    return has_role(user, FACILITATOR, process.locality)


def moderate_post(session: Session, user: User | None, post: WallPost, status: str) -> WallPost:
    """Hide or show a post (facilitators); a change gets a new revision so screens follow it."""
    process = session.get(Process, post.process_id)
    require_role(user, FACILITATOR, process.locality)
    if post.status != status:  # a replay changes nothing and tells no screen anything
        post.status = status
        post.revision = _next_revision(session, process.id)
        session.flush()
    return post


def recent_posts(
    session: Session, process: Process, *, include_hidden: bool = False, limit: int = SCREEN_SIZE
) -> list[WallPost]:
    """The newest posts first (hidden ones only for moderators' lists)."""
    query = select(WallPost).where(WallPost.process_id == process.id)
    if not include_hidden:
        query = query.where(WallPost.status == "visible")
    return list(session.scalars(query.order_by(WallPost.id.desc()).limit(limit)))


def wall_snapshot(session: Session, process: Process, *, limit: int = SCREEN_SIZE) -> WallChanges:
    """What a screen shows when it opens: the newest visible posts, oldest first, and a cursor."""
    # The cursor is read before the posts: a post committed in between then comes twice
    # (screens skip ids they show) rather than never.
    cursor = _current_revision(session, process.id)
    posts = recent_posts(session, process, limit=limit)
    return WallChanges(items=posts[::-1], removed=[], cursor=cursor)


def wall_changes(
    session: Session, process: Process, after: int, *, limit: int = POLL_BATCH
) -> WallChanges:
    """Every post changed since the cursor `after`: new or shown again, or hidden (removed)."""
    query = (
        select(WallPost)
        .where(WallPost.process_id == process.id, WallPost.revision > after)
        .order_by(WallPost.revision)
        .limit(limit + 1)
    )
    changed = list(session.scalars(query))
    more, changed = len(changed) > limit, changed[:limit]
    return WallChanges(
        items=[p for p in changed if p.status == "visible"],
        removed=[p.id for p in changed if p.status != "visible"],
        cursor=changed[-1].revision if changed else after,
        more=more,
    )


def require_summary_writer(user: User | None, process: Process, stage: Stage) -> None:
    """Facilitators in scope may write the summary of the current stage or a finished one."""
    require_role(user, FACILITATOR, process.locality)
    if stage.position > process.current_position:
        raise Conflict(
            _l("“%(stage)s” has not started yet; write its summary after it.", stage=stage.title)
        )


def publish_summary(
    session: Session, user: User | None, process: Process, stage: Stage, text: str, now: datetime
) -> str:
    """Publish a stage's summary or correct it: "published", "revised" or "unchanged".

    Followers are told once, on the first publication. A correction changes the text and
    marks it revised without announcing it again; the same text again changes nothing.
    """
    require_summary_writer(user, process, stage)
    # A conditional UPDATE claims the first publication, so two facilitators publishing at
    # the same moment cannot both announce it: the second one's row no longer matches.
    claimed = session.execute(
        update(Stage)
        .where(Stage.id == stage.id, Stage.summary_published_at.is_(None))
        .values(summary=text, summary_published_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(stage)
    if claimed:
        title = _l("Summary of “%(stage)s”", stage=stage.title)
        notify_followers(session, process, str(title), text, now)
        return "published"
    if stage.summary == text:
        return "unchanged"
    stage.summary = text
    stage.summary_revised_at = now
    session.flush()
    return "revised"
