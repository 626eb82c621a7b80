"""Theme builds, their themes and each priority's assignment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from massline.extensions import db
from massline.models_common import UTCDateTime, intpk, timestamp

# fitting: reading tokens and clustering; assigning: themes and model stored, assignments
# being written in checkpointed batches (a restart continues here); done: the scope's current
# build if it is the latest done one; failed / superseded: kept only as history.
BUILD_STATUSES = ("fitting", "assigning", "done", "failed", "superseded")


class ThemeBuild(db.Model):
    """One clustering run over a scope's published priorities."""

    __tablename__ = "theme_builds"

    id: Mapped[intpk]
    # Random per build: the per-process model cache is keyed by it, not by the id, which a
    # database reset (or a test's TRUNCATE … RESTART IDENTITY) would reuse.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    scope_code: Mapped[str] = mapped_column(String(6), ForeignKey("localities.code"))
    status: Mapped[str] = mapped_column(String(12), default="fitting")
    n_themes: Mapped[int | None]
    n_priorities: Mapped[int] = mapped_column(default=0)
    # Checkpoint of the batched assignment pass: every priority up to this id is assigned.
    assigned_through: Mapped[int] = mapped_column(default=0)
    # The fitted ThemeModel, pickled (per-document arrays dropped). In the database rather than
    # the instance folder so every web process and host sees the same model.
    model: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[timestamp]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_theme_builds_scope_status", "scope_code", "status"),)


class Theme(db.Model):
    """A named group of priorities within one build."""

    __tablename__ = "themes"

    id: Mapped[intpk]
    build_id: Mapped[int] = mapped_column(
        ForeignKey("theme_builds.id", ondelete="CASCADE"), index=True
    )
    scope_code: Mapped[str] = mapped_column(String(6))
    # Position in the fitted model (what ThemeModel.predict returns).
    number: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(default=0)
    supports: Mapped[int] = mapped_column(default=0)
    representative_priority_id: Mapped[int | None] = mapped_column(
        ForeignKey("priorities.id", ondelete="SET NULL")
    )
    built_at: Mapped[timestamp]

    __table_args__ = (UniqueConstraint("build_id", "number"),)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "id": self.id,
            "label": self.label,
            "keywords": list(self.keywords or []),
            "size": self.size,
            "supports": self.supports,
        }


class PriorityTheme(db.Model):
    """A priority's theme in one build, with the engine's confidence (0..1)."""

    __tablename__ = "priority_themes"

    id: Mapped[intpk]
    priority_id: Mapped[int] = mapped_column(ForeignKey("priorities.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    build_id: Mapped[int] = mapped_column(ForeignKey("theme_builds.id", ondelete="CASCADE"))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        UniqueConstraint("priority_id", "build_id"),
        Index("ix_priority_themes_theme_priority", "theme_id", "priority_id"),
    )
