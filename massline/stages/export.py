"""Everything about one process as a ZIP of CSV files, for the facilitator's own analysis."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, aliased

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.localities.models import Locality
from massline.priorities.models import Category, Comment, Priority, Support
from massline.stages.models import (
    Process,
    ProcessFollow,
    ProcessUpdate,
    Stage,
    StageAttachment,
    StageChange,
    Statement,
    StatementVote,
    WallPost,
)
from massline.stages.service import FACILITATOR

# China has kept UTC+8 without summer time since 1991; a fixed offset converts much faster.
BEIJING = timezone(timedelta(hours=8))
# Spreadsheets run a cell starting with these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000


def cell(value: Any) -> Any:
    """One value as a safe CSV cell: Beijing time, 1/0 for booleans, formulas defused."""
    # Exact type checks, most frequent first: this runs for every cell of millions of rows.
    kind = type(value)
    if kind is int:
        return value
    if kind is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if kind is datetime:
        return value.astimezone(BEIJING).isoformat(timespec="seconds")
    if value is None:
        return ""
    if kind is bool:
        return int(value)
    if kind is list:
        return cell(" ".join(str(item) for item in value))
    return value


def _person(prefix: str) -> tuple[Any, Any]:
    """An alias of users to join, and its public display name labelled `<prefix>_name`."""
    person = aliased(User)
    return person, person.display_name.label(f"{prefix}_name")


def tables(process: Process) -> Iterator[tuple[str, Select]]:
    """(file name, query) for every table of the process; people by id and display name only."""
    pid = process.id
    creator, creator_name = _person("created_by")
    yield "process.csv", (
        select(Process.id, Process.title, Process.description, Process.locality_code,
               Locality.name.label("locality_name"), Process.template, Process.strict_moderation,
               Process.current_position, Process.created_by_id, creator_name, Process.created_at)
        .join(Locality, Locality.code == Process.locality_code)
        .join(creator, creator.id == Process.created_by_id)
        .where(Process.id == pid)
    )  # fmt: skip
    yield "stages.csv", (
        select(Stage.id, Stage.position, Stage.kind, Stage.title, Stage.starts_at, Stage.ends_at,
               Stage.actions, Stage.briefing, Stage.summary, Stage.summary_published_at)
        .where(Stage.process_id == pid)
        .order_by(Stage.position)
    )  # fmt: skip
    uploader, uploader_name = _person("uploaded_by")
    yield "stage_attachments.csv", (
        select(StageAttachment.id, StageAttachment.stage_id, StageAttachment.filename,
               StageAttachment.content_type, StageAttachment.size,
               StageAttachment.uploaded_by_id, uploader_name, StageAttachment.created_at)
        .join(Stage, Stage.id == StageAttachment.stage_id)
        .join(uploader, uploader.id == StageAttachment.uploaded_by_id)
        .where(Stage.process_id == pid)
        .order_by(StageAttachment.id)
    )  # fmt: skip
    yield "audit_log.csv", _audit_log(pid)
    author, author_name = _person("author")
    enterer, enterer_name = _person("entered_by")
    yield "priorities.csv", (
        select(Priority.id, Priority.title, Priority.body, Priority.locality_code,
               Category.slug.label("category"), Priority.status, Priority.author_id, author_name,
               Priority.entered_by_id, enterer_name, Priority.supports_count,
               Priority.offline_supports, Priority.threshold, Priority.comments_count,
               Priority.merged_into_id, Priority.retire_reason, Priority.created_at,
               Priority.published_at, Priority.successful_at, Priority.retired_at,
               Priority.hidden_at)
        .join(author, author.id == Priority.author_id)
        .outerjoin(enterer, enterer.id == Priority.entered_by_id)
        .outerjoin(Category, Category.id == Priority.category_id)
        # Drafts are the author's unfinished text, not yet submitted to anyone.
        .where(Priority.process_id == pid, Priority.status != "draft")
        .order_by(Priority.id)
    )  # fmt: skip
    supporter, supporter_name = _person("user")
    yield "supports.csv", (
        select(Support.id, Support.priority_id, Support.user_id, supporter_name,
               Support.entered_by_id, Support.created_at)
        .join(Priority, Priority.id == Support.priority_id)
        .join(supporter, supporter.id == Support.user_id)
        .where(Priority.process_id == pid)
        .order_by(Support.id)
    )  # fmt: skip
    commenter, commenter_name = _person("user")
    yield "comments.csv", (
        select(Comment.id, Comment.priority_id, Comment.parent_id, Comment.user_id,
               commenter_name, Comment.body, Comment.created_at, Comment.hidden_at)
        .join(Priority, Priority.id == Comment.priority_id)
        .join(commenter, commenter.id == Comment.user_id)
        .where(Priority.process_id == pid)
        .order_by(Comment.id)
    )  # fmt: skip
    yield from _opinion_and_wall(pid)


def _audit_log(pid: int) -> Select:
    actor, actor_name = _person("user")
    source, target = aliased(Stage), aliased(Stage)
    return (
        select(StageChange.id, StageChange.at, StageChange.kind, StageChange.from_position,
               source.title.label("from_stage"), StageChange.to_position,
               target.title.label("to_stage"), StageChange.user_id, actor_name, StageChange.reason)
        .outerjoin(actor, actor.id == StageChange.user_id)  # the tick acts as nobody
        .outerjoin(source, and_(source.process_id == pid,
                                source.position == StageChange.from_position))
        .outerjoin(target, and_(target.process_id == pid,
                                target.position == StageChange.to_position))
        .where(StageChange.process_id == pid)
        .order_by(StageChange.id)
    )  # fmt: skip


def _opinion_and_wall(pid: int) -> Iterator[tuple[str, Select]]:
    author, author_name = _person("author")
    yield "statements.csv", (
        select(Statement.id, Statement.author_id, author_name, Statement.text, Statement.seeded,
               Statement.status, Statement.created_at)
        .join(author, author.id == Statement.author_id)
        .where(Statement.process_id == pid)
        .order_by(Statement.id)
    )  # fmt: skip
    voter, voter_name = _person("user")
    yield "statement_votes.csv", (
        select(StatementVote.id, StatementVote.statement_id, StatementVote.user_id, voter_name,
               StatementVote.value, StatementVote.created_at, StatementVote.updated_at)
        .join(Statement, Statement.id == StatementVote.statement_id)
        .join(voter, voter.id == StatementVote.user_id)
        .where(Statement.process_id == pid)
        .order_by(StatementVote.id)
    )  # fmt: skip
    poster, poster_name = _person("author")
    yield "wall_posts.csv", (
        select(WallPost.id, WallPost.stage_id, WallPost.author_id, poster_name, WallPost.body,
               WallPost.status, WallPost.created_at)
        .join(poster, poster.id == WallPost.author_id)
        .where(WallPost.process_id == pid)
        .order_by(WallPost.id)
    )  # fmt: skip
    writer, writer_name = _person("author")
    yield "updates.csv", (
        select(ProcessUpdate.id, ProcessUpdate.author_id, writer_name, ProcessUpdate.title,
               ProcessUpdate.body, ProcessUpdate.created_at)
        .join(writer, writer.id == ProcessUpdate.author_id)
        .where(ProcessUpdate.process_id == pid)
        .order_by(ProcessUpdate.id)
    )  # fmt: skip
    follower, follower_name = _person("user")
    yield "followers.csv", (
        select(ProcessFollow.user_id, follower_name, ProcessFollow.created_at)
        .join(follower, follower.id == ProcessFollow.user_id)
        .where(ProcessFollow.process_id == pid)
        .order_by(ProcessFollow.id)
    )  # fmt: skip


def write_export(session: Session, user: User | None, process: Process, target: IO[bytes]) -> None:
    """Write the ZIP to `target`: one UTF-8 CSV (with BOM, for Excel) per table, header first."""
    require_role(user, FACILITATOR, process.locality)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, query in tables(process):
            raw = archive.open(name, "w")
            with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
                writer = csv.writer(text)
                writer.writerow([column.key for column in query.selected_columns])
                # Fetched in batches: a big process has millions of supports and votes.
                result = session.execute(query, execution_options={"yield_per": BATCH})
                for row in result:
                    writer.writerow([cell(value) for value in row])
