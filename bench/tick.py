"""`tick` over 100,000 open reports on PostgreSQL, beside raw inserts of the same rows.

    PYTHONPATH=. .venv/bin/python bench/tick.py [--reports 100000]

Makes a throwaway database next to DATABASE_URL (default the local `postgres` database),
migrates it, loads the locality registry, inserts N successful priorities spread over all
counties with success times over the last 45 days (so every kind of notice is due for some),
and officials for every prefecture. Then it times: the baseline, a plain psycopg
`executemany` of N report-shaped rows into a scratch table; the first `tick` (opens N
reports, sends every due reminder, overdue notice and escalation); and a second `tick` right
after, which must send nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from supports import DEFAULT_URL, create_database  # noqa: E402

from massline import create_app  # noqa: E402
from massline.accounts.models import Role, User  # noqa: E402
from massline.extensions import db  # noqa: E402
from massline.localities.models import Locality  # noqa: E402
from massline.priorities.models import Priority  # noqa: E402
from massline.tick import run_tick  # noqa: E402


def populate(n: int, now: datetime) -> None:
    """N successful priorities over all counties, and one official per prefecture."""
    rng = random.Random(1)
    counties = db.session.execute(
        select(Locality.code, Locality.province_code).where(Locality.level == "county")
    ).all()
    prefectures = db.session.scalars(select(Locality.code).where(Locality.level == "prefecture"))
    author = User(phone="13700000000", display_name="作者", home_code="000000", verified_at=now)
    db.session.add(author)
    db.session.flush()
    officials = [
        {"phone": f"136{i:08d}", "display_name": f"官员{i}", "home_code": code, "verified_at": now,
         "is_active": True, "created_at": now}
        for i, code in enumerate(prefectures)
    ]  # fmt: skip
    ids = db.session.scalars(insert(User).returning(User.id), officials).all()
    db.session.execute(
        insert(Role),
        [{"user_id": uid, "role": "official", "scope_code": row["home_code"], "granted_at": now}
         for uid, row in zip(ids, officials, strict=True)],
    )  # fmt: skip
    rows = []
    for i in range(n):
        code, province = rng.choice(counties)
        when = now - timedelta(days=45 * rng.random())
        rows.append(
            {"title": f"诉求{i}", "body": "基准", "locality_code": code, "province_code": province,
             "author_id": author.id, "status": "successful", "supports_count": 0,
             "offline_supports": 0, "threshold": 1, "comments_count": 0, "flags_count": 0,
             "search_text": "", "tokens": "", "created_at": when, "updated_at": when,
             "published_at": when, "successful_at": when}
        )  # fmt: skip
    for start in range(0, n, 5000):
        db.session.execute(insert(Priority), rows[start : start + 5000])
    db.session.commit()


def baseline(url: str, n: int, now: datetime) -> float:
    """Seconds for psycopg to insert N report-shaped rows in one transaction."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    rows = [("priority", i, "430102", "43", "open", now, now + timedelta(days=30), 0, "[]", now)
            for i in range(n)]  # fmt: skip
    with psycopg.connect(plain) as connection:
        connection.execute("CREATE TEMP TABLE scratch (LIKE reports INCLUDING DEFAULTS)")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO scratch (subject_type, subject_id, locality_code, province_code,"
                " status, opened_at, due_at, revision, cost_breakdown, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        connection.commit()
        return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    args = parser.parse_args()
    url, drop = create_database(os.environ.get("DATABASE_URL", DEFAULT_URL))
    data_dir = Path(os.environ.get("MASSLINE_DATA_DIR", ROOT.parent / "shared" / "data"))
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MASSLINE_DATA_DIR": str(data_dir)})
        with app.app_context():
            from flask_migrate import upgrade

            from massline.localities.service import load_registry

            upgrade()
            load_registry(db.session, data_dir / "localities")
            db.session.commit()
            now = datetime.now(UTC)
            populate(args.reports, now)
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            base = baseline(url, args.reports, now)
            started = time.perf_counter()
            first = run_tick(db.session, now, app.config)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = run_tick(db.session, now, app.config)
            second_s = time.perf_counter() - started
            outbox = db.session.scalar(text("SELECT count(*) FROM outbox"))
        print(f"reports: {args.reports:,}; messages written: {outbox:,}")
        print(f"baseline psycopg executemany of {args.reports:,} rows: {base:.2f} s")
        print(f"first tick:  {first_s:.2f} s  ({first_s / base:.2f}× baseline)  {first}")
        print(f"second tick: {second_s:.2f} s  ({second_s / base:.2f}× baseline)  {second}")
    finally:
        drop()


if __name__ == "__main__":
    main()
