"""Supports stay exact when four gunicorn workers take hundreds of them at the same moment."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from massline.accounts.service import issue_token
from massline.extensions import db
from massline.priorities.models import Follow, Priority, Support
from tests.factories import make_priority, make_user
from tests.servers import Server, gunicorn

CLIENT_THREADS = 48


@pytest.fixture(scope="module")
def server(_session_app: Flask, database_url: str, data_dir: Path) -> Iterator[Server]:
    """Four gunicorn workers on the test database (migrated by the session app first)."""
    with gunicorn(database_url, data_dir, workers=4) as running:
        yield running


@dataclass(frozen=True)
class Call:
    """One support request: who sends it, for which priority."""

    user_id: int
    token: str
    priority_id: int


@dataclass(frozen=True)
class Answer:
    """What the server said to one call."""

    call: Call
    status: int
    body: dict


def _post(base_url: str, call: Call) -> Answer:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(
            "POST",
            f"/api/v1/priorities/{call.priority_id}/supports",
            headers={"Authorization": f"Bearer {call.token}", "Accept": "application/json"},
        )
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {"raw": raw.decode("utf-8", "replace")}
    return Answer(call, response.status, body)


def fire(base_url: str, calls: list[Call], threads: int = CLIENT_THREADS) -> list[Answer]:
    """Send every call from `threads` client threads released together by a barrier.

    Thread k sends calls k, k + threads, …, so neighbouring calls (a citizen's racing
    duplicates) leave at the same moment from different threads.
    """
    threads = min(threads, len(calls))
    barrier = threading.Barrier(threads)
    answers: list[Answer | None] = [None] * len(calls)
    failures: list[BaseException] = []

    def work(k: int) -> None:
        barrier.wait()
        try:
            for index in range(k, len(calls), threads):
                answers[index] = _post(base_url, calls[index])
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            failures.append(error)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise failures[0]
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def _citizens(count: int) -> list[tuple[int, str]]:
    """Verified residents of the priorities' locality, each with an API token (committed)."""
    users = [make_user(display_name=f"居民{i}") for i in range(count)]
    pairs = [(user.id, issue_token(db.session, user, days=1)) for user in users]
    db.session.commit()
    return pairs


def _counts(priority_id: int) -> tuple[Priority, int, int]:
    """The priority as stored now, its support rows and its follow rows."""
    db.session.expire_all()
    priority = db.session.get(Priority, priority_id)
    supports = db.session.scalar(
        select(func.count()).select_from(Support).where(Support.priority_id == priority_id)
    )
    follows = db.session.scalar(
        select(func.count()).select_from(Follow).where(Follow.priority_id == priority_id)
    )
    return priority, supports, follows


def _release_database() -> None:
    """End the test's own transaction so SQLite's write lock is free for the workers."""
    db.session.commit()
    db.session.close()


def test_racing_supports_and_replays_count_each_citizen_once(app: Flask, server: Server) -> None:
    citizens = _citizens(200)
    priority_id = make_priority(threshold_floor=10_000).id
    _release_database()

    # Every citizen twice at once, then every citizen again after the race.
    racing = [Call(uid, token, priority_id) for uid, token in citizens for _ in range(2)]
    answers = fire(server.url, racing)
    replays = fire(server.url, [Call(uid, token, priority_id) for uid, token in citizens])

    assert not [a for a in answers + replays if a.status >= 500], server.errors()
    assert {a.status for a in answers} <= {200, 201}, [a.body for a in answers if a.status > 201]
    created = Counter(a.call.user_id for a in answers if a.status == 201)
    assert created == Counter({uid: 1 for uid, _ in citizens})
    assert all(a.body["created"] is False for a in answers if a.status == 200)
    # A racing duplicate answers with the count as it stands after the winner's commit.
    won = {a.call.user_id: a.body["supports"] for a in answers if a.status == 201}
    assert all(a.body["supports"] >= won[a.call.user_id] for a in answers if a.status == 200)
    # Each new support saw its own value of the counter: no increment was lost or doubled.
    assert sorted(a.body["supports"] for a in answers if a.status == 201) == list(range(1, 201))
    assert [a.status for a in replays] == [200] * len(citizens)
    assert {a.body["supports"] for a in replays} == {200}

    priority, support_rows, follow_rows = _counts(priority_id)
    assert priority.supports_count == 200
    assert support_rows == 200
    assert follow_rows == 200 + 1  # every supporter, and the author
    assert priority.status == "published"
    assert server.errors() == []


def test_threshold_is_crossed_exactly_once_per_priority(app: Flask, server: Server) -> None:
    threshold = 50
    citizens = _citizens(110)
    priority_ids = [make_priority(threshold_floor=threshold).id for _ in range(2)]
    _release_database()

    calls = [
        Call(uid, token, pid)
        for uid, token in citizens
        for pid in priority_ids
        for _ in range(2)  # a racing duplicate of every call
    ]
    answers = fire(server.url, calls)

    assert not [a for a in answers if a.status >= 500], server.errors()
    assert {a.status for a in answers} <= {200, 201}, [a.body for a in answers if a.status > 201]
    for pid in priority_ids:
        mine = [a for a in answers if a.call.priority_id == pid]
        new = [a for a in mine if a.status == 201]
        assert Counter(a.call.user_id for a in new) == Counter({uid: 1 for uid, _ in citizens})
        assert sorted(a.body["supports"] for a in new) == list(range(1, len(citizens) + 1))
        # The status every supporter saw matches the count they saw: one crossing, no flapping.
        for answer in new:
            expected = "successful" if answer.body["supports"] >= threshold else "published"
            assert answer.body["status"] == expected, answer.body
        crossing = [a for a in new if a.body["supports"] == threshold]
        assert len(crossing) == 1

        priority, support_rows, _ = _counts(pid)
        assert priority.status == "successful"
        assert priority.supports_count == support_rows == len(citizens)
        assert priority.threshold == threshold
        # successful_at was written by the crossing support and never overwritten later.
        crossing_support = db.session.scalar(
            select(Support).where(
                Support.priority_id == pid, Support.user_id == crossing[0].call.user_id
            )
        )
        assert priority.successful_at is not None
        assert priority.successful_at == crossing_support.created_at
    assert server.errors() == []
