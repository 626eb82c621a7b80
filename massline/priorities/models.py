"""Priorities and everything people attach to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from massline.accounts.models import User
from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import UTCDateTime, intpk, timestamp

STATUSES = (
    "draft",
    "published",
    "successful",
    "answered",
    "adopted",
    "piloted",
    "declined",
    "implemented",
    "evaluated",
    "archived",
    "retired",
)
# Statuses shown in public lists: published and everything after success.
PUBLIC_STATUSES = STATUSES[1:9]
# Statuses in which people may still support a priority.
SUPPORTABLE = ("published", "successful")
RETIRE_REASONS = ("duplicate", "done", "unfeasible", "other")


class Category(db.Model):
    """A policy domain, kept as data."""

    __tablename__ = "categories"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)

    def name_for(self, locale: str) -> str:
        """The name in the given locale."""
        return self.name_en if locale.startswith("en") else self.name_zh


class Priority(db.Model):
    """A citizen's request for a locality."""

    __tablename__ = "priorities"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    locality_code: Mapped[str] = mapped_column(String(6), ForeignKey("localities.code"))
    province_code: Mapped[str] = mapped_column(String(2))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    supports_count: Mapped[int] = mapped_column(default=0)
    offline_supports: Mapped[int] = mapped_column(default=0)
    threshold: Mapped[int] = mapped_column(default=0)
    comments_count: Mapped[int] = mapped_column(default=0)
    flags_count: Mapped[int] = mapped_column(default=0)
    # jieba tokens, space-joined, computed once on write: search and themes reuse them.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Topic tokens (massline.text.tokenize), space-joined: theme builds never re-segment.
    # NULL only on rows written before tokens were stored; the next theme build fills them.
    tokens: Mapped[str | None] = mapped_column(Text, default="")
    retire_reason: Mapped[str | None] = mapped_column(String(16))
    retire_explanation: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("priorities.id"))
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp]
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    successful_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    locality: Mapped[Locality] = relationship(lazy="joined")
    category: Mapped[Category | None] = relationship(lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])

    __table_args__ = (
        CheckConstraint("supports_count >= 0", name="supports_nonnegative"),
        CheckConstraint("offline_supports >= 0", name="offline_nonnegative"),
        Index("ix_priorities_locality_status", "locality_code", "status"),
        Index("ix_priorities_status_published", "status", "published_at"),
        Index(
            "ix_priorities_search",
            func.to_tsvector(literal_column("'simple'::regconfig"), text("search_text")),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def total_supports(self) -> int:
        """Online and assisted offline supports together."""
        return self.supports_count + self.offline_supports

    @property
    def is_assisted(self) -> bool:
        """Whether a community worker entered it for the author."""
        return self.entered_by_id is not None

    @property
    def progress(self) -> float:
        """Share of the threshold reached, capped at 1."""
        return min(1.0, self.total_supports / self.threshold) if self.threshold else 0.0


class Support(db.Model):
    """One verified citizen's support; the unique constraint makes replays count nothing."""

    __tablename__ = "supports"

    id: Mapped[intpk]
    priority_id: Mapped[int] = mapped_column(ForeignKey("priorities.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    __table_args__ = (
        UniqueConstraint("priority_id", "user_id"),
        Index("ix_supports_priority_created", "priority_id", "created_at"),
    )


class Comment(db.Model):
    """A comment, or a reply to a top-level comment (one level of threading)."""

    __tablename__ = "comments"

    id: Mapped[intpk]
    priority_id: Mapped[int] = mapped_column(
        ForeignKey("priorities.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    flags_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[timestamp]
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(lazy="joined")


class Follow(db.Model):
    """A person following a priority's updates."""

    __tablename__ = "follows"

    id: Mapped[intpk]
    priority_id: Mapped[int] = mapped_column(ForeignKey("priorities.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[timestamp]

    __table_args__ = (UniqueConstraint("priority_id", "user_id"),)


class Flag(db.Model):
    """A report of a priority or comment to the moderators; one per person and item."""

    __tablename__ = "flags"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[timestamp]
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "target_type", "target_id"),
        Index("ix_flags_target", "target_type", "target_id"),
    )


class MergeProposal(db.Model):
    """A facilitator's proposal to merge one priority into another; its author decides."""

    __tablename__ = "merge_proposals"

    id: Mapped[intpk]
    source_id: Mapped[int] = mapped_column(ForeignKey("priorities.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("priorities.id", ondelete="CASCADE"))
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[timestamp]
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted: Mapped[bool | None]

    source: Mapped[Priority] = relationship(foreign_keys=[source_id])
    target: Mapped[Priority] = relationship(foreign_keys=[target_id])

    __table_args__ = (UniqueConstraint("source_id", "target_id"),)
