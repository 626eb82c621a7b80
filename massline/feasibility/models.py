"""Feasibility reports, their published revisions and the notices sent about them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from massline.accounts.models import User
from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import UTCDateTime, intpk, timestamp

SUBJECT_TYPES = ("priority", "pilot")
STATES = ("open", "draft", "published")
LEGALITY = ("lawful", "needs_rule_change", "unlawful")
FEASIBILITY = ("feasible", "partly", "not_feasible")
DECISIONS = ("adopt", "pilot", "decline", "defer")
NOTICE_KINDS = ("remind_7d", "remind_1d", "overdue", "escalate", "published")


class Report(db.Model):
    """The one-month answer on legality, feasibility and cost for one subject."""

    __tablename__ = "reports"

    id: Mapped[intpk]
    subject_type: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[int]
    locality_code: Mapped[str] = mapped_column(String(6), ForeignKey("localities.code"))
    province_code: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(default=0)
    legality: Mapped[str | None] = mapped_column(String(20))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    feasibility: Mapped[str | None] = mapped_column(String(20))
    feasibility_explanation: Mapped[str | None] = mapped_column(Text)
    cost_estimate: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    cost_low: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    cost_high: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    cost_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duration_months: Mapped[int | None]
    department: Mapped[str | None] = mapped_column(String(120))
    decision: Mapped[str | None] = mapped_column(String(10))
    decision_reasons: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[timestamp]
    # The implementing side's completion report; ratings open once it is posted.
    completion_summary: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    locality: Mapped[Locality] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id"),
        Index("ix_reports_status_due", "status", "due_at"),
        Index("ix_reports_locality", "locality_code"),
    )


class ReportRevision(db.Model):
    """A frozen copy of each published version: corrections never overwrite history."""

    __tablename__ = "report_revisions"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    revision: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[timestamp]

    __table_args__ = (UniqueConstraint("report_id", "revision"),)


class ReportNotice(db.Model):
    """One dated notice about a report; the unique key makes every notice go out once."""

    __tablename__ = "report_notices"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    revision: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[timestamp]
    recipients: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("report_id", "kind", "revision"),)


class Milestone(db.Model):
    """A dated step of an adopted project, with its progress."""

    __tablename__ = "milestones"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    due_on: Mapped[date]
    progress: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[timestamp]

    __table_args__ = (CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),)


class Monitor(db.Model):
    """A citizen who pressed "I want to monitor" on a project."""

    __tablename__ = "monitors"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[timestamp]

    __table_args__ = (UniqueConstraint("report_id", "user_id"),)


class MonitoringPost(db.Model):
    """A citizen's note (and photo) on how the work is going."""

    __tablename__ = "monitoring_posts"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    photo_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[timestamp]
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(lazy="joined")


class Rating(db.Model):
    """One resident's 1–5 star evaluation of the finished work; one each."""

    __tablename__ = "ratings"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    stars: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]

    __table_args__ = (
        UniqueConstraint("report_id", "user_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
    )
