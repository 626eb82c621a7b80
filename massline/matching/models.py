"""Central ideas, their immutable match runs, and the pilot sites designated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from massline.accounts.models import User
from massline.extensions import db
from massline.localities.models import Locality
from massline.models_common import UTCDateTime, intpk, timestamp

PILOT_STATES = ("designated", "refused")


class Idea(db.Model):
    """A central planner's policy idea to be piloted somewhere."""

    __tablename__ = "ideas"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(12), default="county")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    created_by: Mapped[User] = relationship(lazy="joined")


class MatchRun(db.Model):
    """One run of the engine: parameters and results, never changed afterwards."""

    __tablename__ = "match_runs"

    id: Mapped[intpk]
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    created_by: Mapped[User] = relationship(lazy="joined")


class Pilot(db.Model):
    """A locality designated to pilot an idea (or one that refused)."""

    __tablename__ = "pilots"

    id: Mapped[intpk]
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("match_runs.id"))
    locality_code: Mapped[str] = mapped_column(String(6), ForeignKey("localities.code"))
    status: Mapped[str] = mapped_column(String(12), default="designated")
    designated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    designated_at: Mapped[timestamp]
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(Text)

    locality: Mapped[Locality] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("idea_id", "locality_code"),)
