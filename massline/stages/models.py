"""Processes, their stages, the audit log, statements and statement votes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import UTCDateTime, intpk, timestamp

ACTIONS = ("submit", "support", "comment", "statement", "vote", "rate")
STATEMENT_STATES = ("pending", "approved", "rejected")


class Process(db.Model):
    """A consultation on one question in a locality subtree."""

    __tablename__ = "processes"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    locality_code: Mapped[str] = mapped_column(String(6), ForeignKey("localities.code"))
    template: Mapped[str] = mapped_column(String(20))
    # Pol.is strict moderation: participants' statements wait for approval.
    strict_moderation: Mapped[bool] = mapped_column(default=True)
    current_position: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    locality: Mapped[Locality] = relationship(lazy="joined")
    stages: Mapped[list[Stage]] = relationship(
        order_by="Stage.position", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def current_stage(self) -> Stage:
        """The stage the process is in now."""
        return self.stages[self.current_position]


class Stage(db.Model):
    """One dated step with its briefing and the actions it allows."""

    __tablename__ = "stages"

    id: Mapped[intpk]
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(80))
    briefing: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What came out of the stage, written by the facilitator and sent to followers once.
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by a correction after publication, so readers of the first text see it changed.
    summary_revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attachments: Mapped[list[StageAttachment]] = relationship(
        order_by="StageAttachment.id", lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("process_id", "position"),)


class StageAttachment(db.Model):
    """A file that goes with a stage's briefing (a PDF or an image), kept in storage."""

    __tablename__ = "stage_attachments"

    id: Mapped[intpk]
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[timestamp]


class StageChange(db.Model):
    """The audit log: who moved the process, when, from where to where, and why."""

    __tablename__ = "stage_changes"

    id: Mapped[intpk]
    process_id: Mapped[int] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10))  # advance | extend | schedule
    from_position: Mapped[int]
    to_position: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Statement(db.Model):
    """A short statement (≤ 140 characters) people agree or disagree with."""

    __tablename__ = "statements"

    id: Mapped[intpk]
    process_id: Mapped[int] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(140))
    seeded: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[timestamp]


class StatementVote(db.Model):
    """One person's agree (1), disagree (-1) or pass (0); changeable, one per statement."""

    __tablename__ = "statement_votes"

    id: Mapped[intpk]
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[int]
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp]

    __table_args__ = (
        UniqueConstraint("statement_id", "user_id"),
        CheckConstraint("value IN (-1, 0, 1)", name="vote_value"),
    )


class ProcessFollow(db.Model):
    """A person following a process's updates."""

    __tablename__ = "process_follows"

    id: Mapped[intpk]
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[timestamp]

    __table_args__ = (UniqueConstraint("process_id", "user_id"),)


class ProcessUpdate(db.Model):
    """A facilitator's update to the followers of a process."""

    __tablename__ = "process_updates"

    id: Mapped[intpk]
    process_id: Mapped[int] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp]


WALL_STATES = ("visible", "hidden")


class WallPost(db.Model):
    """A comment typed online for the reflection meeting's wall, moderated by the facilitator."""

    __tablename__ = "wall_posts"

    id: Mapped[intpk]
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default="visible")
    created_at: Mapped[timestamp]
    # The process's wall change counter at this post's last change (posted, hidden, shown):
    # screens poll for revisions above the last one they saw. Unique, so two changes can
    # never share a number and a screen can never skip one.
    revision: Mapped[int]

    __table_args__ = (
        Index("ix_wall_posts_process_id_id", "process_id", "id"),
        UniqueConstraint("process_id", "revision"),
    )
