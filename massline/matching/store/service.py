"""Keep matching fast at national scale: build, save, load and refresh the relevance index.

Below `INDEX_MIN` public priorities and with no saved index, matching is exact: it fits TF-IDF
over every visible public priority and counts participants on each call. Past that, `tick`
(or `flask --app massline matching index`) fits a `RelevanceIndex` once over the stored
tokens of the public priorities, saves it in `relevance_indexes` with a snapshot of participant
counts, and each process loads it once. On every use the process adds what was published since
(`extend`, fitted vocabulary and idf); hidden, archived and retired priorities are filtered
when matched, so they never count. `tick` refits when the index has grown by `REFIT_GROWTH`
or is `REFIT_AGE` old (so idf, edits and moderation catch up), and otherwise refreshes the
participant counts.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import tee
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, union
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.matching.index import RelevanceIndex
from massline.matching.store.models import (
    ParticipantCount,
    RelevanceIndexPart,
    RelevanceIndexRecord,
)
from massline.models_common import utcnow
from massline.priorities.models import PUBLIC_STATUSES, Priority, Support

INDEX_MIN = 5_000  # public priorities from which an index is worth keeping (see docs)
REFIT_GROWTH = 0.1  # refit once a tenth more has been published since the fit
REFIT_AGE = timedelta(days=1)
# Publications committed a little after their published_at are still found by the next check.
LATE_COMMIT = timedelta(minutes=10)
PART_BYTES = 32 * 2**20
_STREAM_ROWS = 20_000

_cache: dict[str, _Loaded] = {}
_cache_lock = threading.Lock()


@dataclass
class _Loaded:
    index: RelevanceIndex
    checked_at: datetime
    lock: threading.Lock


@dataclass(frozen=True)
class Prepared:
    """What matching uses: the index as of now and participant counts by home locality."""

    index: RelevanceIndex
    participants: dict[str, int]
    info: dict[str, Any]


def visible() -> Any:
    """Priorities that count: public and not hidden by moderators."""
    return Priority.status.in_(PUBLIC_STATUSES) & Priority.hidden_at.is_(None)


def count_participants(session: Session) -> dict[str, int]:
    """Distinct authors and supporters of visible public priorities, by home locality code."""
    active = union(
        select(Priority.author_id.label("person")).where(visible()),
        select(Support.user_id).join(Priority, Priority.id == Support.priority_id).where(visible()),
    ).subquery()
    rows = session.execute(
        select(User.home_code, func.count())
        .join(active, active.c.person == User.id)
        .group_by(User.home_code)
    )
    return {code: int(people) for code, people in rows}


def exact_index(session: Session) -> RelevanceIndex:
    """A fresh in-memory index over every visible public priority (the exact computation)."""
    rows = session.execute(
        select(Priority.id, Priority.tokens).where(visible()).order_by(Priority.id)
    ).all()
    return RelevanceIndex().fit([row.tokens for row in rows], [row.id for row in rows])


def current_record(session: Session) -> RelevanceIndexRecord | None:
    """The newest saved index, if any."""
    return session.scalars(
        select(RelevanceIndexRecord).order_by(RelevanceIndexRecord.id.desc()).limit(1)
    ).first()


def build_index(session: Session) -> RelevanceIndexRecord:
    """Fit the index over the stored tokens of public priorities and save it (flushes)."""
    started, clock = utcnow(), time.perf_counter()
    rows = session.execute(
        select(Priority.id, Priority.tokens, Priority.hidden_at.is_(None))
        .where(Priority.status.in_(PUBLIC_STATUSES))
        .order_by(Priority.id)
        .execution_options(yield_per=_STREAM_ROWS)
    )
    by_id, by_text, by_shown = tee(rows, 3)
    # Hidden ones get vectors but no say in the idf: moderators may bring them back.
    index = RelevanceIndex().fit(
        (row[1] for row in by_text),
        (row[0] for row in by_id),
        counted=(bool(row[2]) for row in by_shown),
    )
    data = index.to_bytes()
    parts = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)] or [b""]
    record = RelevanceIndexRecord(
        key=uuid.uuid4().hex, fitted_at=started, documents=index.n_documents_,
        counted=index.n_counted_, terms=len(index.terms_), max_priority_id=index.max_id_,
        size_bytes=len(data), parts=len(parts), build_seconds=0.0,
        participants_at=started, participants_seconds=0.0,
    )  # fmt: skip
    session.add(record)
    session.flush()
    for position, part in enumerate(parts):
        session.execute(
            insert(RelevanceIndexPart).values(index_id=record.id, position=position, data=part)
        )
    record.build_seconds = time.perf_counter() - clock
    refresh_participants(session, record)
    # The new fit supersedes the old ones in the same transaction.
    session.execute(delete(RelevanceIndexRecord).where(RelevanceIndexRecord.id < record.id))
    session.flush()
    _remember(record.key, _Loaded(index, started, threading.Lock()))
    return record


def _remember(key: str, loaded: _Loaded) -> _Loaded:
    """Keep a fit in this process (the newest two); a fit already kept wins."""
    with _cache_lock:
        loaded = _cache.setdefault(key, loaded)
        while len(_cache) > 2:
            _cache.pop(next(iter(_cache)))
    return loaded


def refresh_participants(session: Session, record: RelevanceIndexRecord) -> None:
    """Replace the saved participant counts with a fresh count (flushes)."""
    started, clock = utcnow(), time.perf_counter()
    counts = count_participants(session)
    session.execute(delete(ParticipantCount).where(ParticipantCount.index_id == record.id))
    if counts:
        session.execute(
            insert(ParticipantCount),
            [{"index_id": record.id, "home_code": c, "people": n} for c, n in counts.items()],
        )
    record.participants_at = started
    record.participants_seconds = time.perf_counter() - clock
    session.flush()


def prepare(session: Session) -> Prepared | None:
    """The saved index brought up to date with new publications, or None when there is none."""
    record, loaded, first = None, None, False
    for _attempt in range(2):  # a refit may replace the record between reading it and its parts
        record = current_record(session)
        if record is None:
            return None
        with _cache_lock:
            loaded = _cache.get(record.key)
        first = loaded is None
        loaded = loaded or _load(session, record)
        if loaded is not None:
            break
    if loaded is None:
        raise RuntimeError("the relevance index was replaced twice while it was read")
    with loaded.lock:  # one extension at a time per process; the index is read-only otherwise
        checked_at = utcnow()
        fresh = session.execute(
            select(Priority.id, Priority.tokens)
            .where(
                Priority.status.in_(PUBLIC_STATUSES),
                or_(
                    Priority.id > loaded.index.max_id_,
                    Priority.published_at >= loaded.checked_at - LATE_COMMIT,
                ),
            )
            .order_by(Priority.id)
        ).all()
        loaded.index.extend([row.tokens for row in fresh], [row.id for row in fresh])
        loaded.checked_at = checked_at
    participants = dict(
        session.execute(
            select(ParticipantCount.home_code, ParticipantCount.people).where(
                ParticipantCount.index_id == record.id
            )
        ).all()
    )
    info = {
        "kind": "index",
        "fitted_at": record.fitted_at.isoformat(),
        "documents": record.documents,
        "added_since_fit": loaded.index.n_extended_,
        "participants_at": record.participants_at.isoformat(),
        "loaded_now": first,
    }
    return Prepared(loaded.index, participants, info)


def _load(session: Session, record: RelevanceIndexRecord) -> _Loaded | None:
    """Read a saved index into this process, or None if it was deleted meanwhile."""
    data = b"".join(
        session.scalars(
            select(RelevanceIndexPart.data)
            .where(RelevanceIndexPart.index_id == record.id)
            .order_by(RelevanceIndexPart.position)
        )
    )
    if len(data) != record.size_bytes:
        return None
    index = RelevanceIndex.from_bytes(data)
    return _remember(record.key, _Loaded(index, record.fitted_at, threading.Lock()))


def refresh(session: Session, now: datetime, config: Mapping[str, Any] | None = None) -> int:
    """The tick's step: build, refit or refresh participant counts; 1 if anything was done."""
    record = current_record(session)
    if record is None:
        public = session.scalar(select(func.count()).select_from(Priority).where(visible()))
        if public < INDEX_MIN:
            return 0
        build_index(session)
        return 1
    published = session.scalar(
        select(func.count())
        .select_from(Priority)
        .where(
            Priority.status.in_(PUBLIC_STATUSES),
            or_(Priority.id > record.max_priority_id, Priority.published_at >= record.fitted_at),
        )
    )
    if published >= REFIT_GROWTH * record.documents or now - record.fitted_at >= REFIT_AGE:
        build_index(session)
    else:
        refresh_participants(session, record)
    return 1
