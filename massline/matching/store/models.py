"""A fitted relevance index (in parts) and the participant counts taken with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from massline.extensions import db
from massline.models_common import UTCDateTime, intpk


class RelevanceIndexRecord(db.Model):
    """One fit of the relevance index; the newest is current, older ones are deleted."""

    __tablename__ = "relevance_indexes"

    id: Mapped[intpk]
    # Names the fit in each process's cache: ids restart when tables are emptied, keys do not.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    # When reading the priorities began: publications after it are added to the fit on use.
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    documents: Mapped[int]
    counted: Mapped[int]
    terms: Mapped[int]
    max_priority_id: Mapped[int]
    size_bytes: Mapped[int] = mapped_column(BigInteger)  # past 2 GiB from ~7 M priorities
    parts: Mapped[int]
    build_seconds: Mapped[float]
    participants_at: Mapped[datetime] = mapped_column(UTCDateTime)
    participants_seconds: Mapped[float]


class RelevanceIndexPart(db.Model):
    """A slice of the saved index (a few tens of MB, so no single value grows past limits)."""

    __tablename__ = "relevance_index_parts"

    index_id: Mapped[int] = mapped_column(
        ForeignKey("relevance_indexes.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ParticipantCount(db.Model):
    """Distinct people who wrote or supported a visible public priority, by home locality."""

    __tablename__ = "participant_counts"

    index_id: Mapped[int] = mapped_column(
        ForeignKey("relevance_indexes.id", ondelete="CASCADE"), primary_key=True
    )
    home_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("localities.code"), primary_key=True
    )
    people: Mapped[int]
