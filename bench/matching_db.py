"""Benchmark matching from the database at national scale (issue 5: rank every county < 1 s).

Run from the repository root (PostgreSQL on 127.0.0.1, user postgres, trust):

    PYTHONPATH=. .venv/bin/python bench/matching_db.py [--priorities 1000000] [--exact]

Makes a throwaway PostgreSQL database (dropped at the end unless --keep; --reuse NAME skips the
load), migrates it, loads the real county registry and COPYs in SIMULATED participation:
users in counties ∝ census population, priorities whose token lists are resampled from the
real citizen messages in shared/data (each real list with ~20% of its tokens dropped, as in
bench/themes.py), ~3 supports per priority from people of the priority's county, 10% assisted
entries, 1% hidden and 5% archived priorities. Then times, beside two baselines measured in
the same run (a plain `SELECT count(*) FROM supports` and the engine alone on in-memory
arrays): the index build, the participant count, the first ranking in a fresh process cache
(loads the saved index) and warm rankings of a few ideas; with --exact also the exact path
(no saved index: fit TF-IDF and count participants on the call). Ranking = `rank_idea`
(relevance, the relevant people from the database, prior, ranking of all counties); the
portfolio optimisation that `match` adds is timed on its own line and excluded from it.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a plain script from any directory

IDEAS = {
    "lifts": "老旧小区加装电梯，方便老人上下楼",
    "buses": "学校周边交通拥堵，希望增加公交线路",
    "water": "农村饮用水安全问题，希望改造自来水管网",
    "property": (
        "我们小区物业管理混乱，乱收费，希望有关部门整治物业公司的违规行为，保障业主的合法权益，"
        "同时加强对小区环境卫生和安全的管理"
    ),
}
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def data_dir() -> Path:
    """The shared data folder (MASSLINE_DATA_DIR, default ../shared/data)."""
    return Path(os.environ.get("MASSLINE_DATA_DIR", ROOT.parent / "shared" / "data"))


def real_messages() -> list[tuple[str, str, str]]:
    """(title, body, tokens) of every real message, tokens from the shared pipeline."""
    from massline.text import analyse

    found = []
    for name in ("messages_labelled.csv", "messages_hot.csv"):
        with open(data_dir() / name, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                title, body = row["title"].strip()[:80], row["body"].strip()
                found.append((title, body, " ".join(analyse(f"{title} {body}").tokens)))
    return found


def copy_rows(connection: psycopg.Connection, table: str, columns: str, rows) -> None:  # noqa: ANN001
    """COPY rows (tuples) into a table."""
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str, n_priorities: int, seed: int) -> dict[str, float]:
    """Fill the database with simulated users, priorities and supports; returns counts."""
    rng = np.random.default_rng(seed)
    messages = real_messages()
    with psycopg.connect(url, autocommit=True) as connection:
        counties = connection.execute(
            "SELECT code, province_code, population FROM localities "
            "WHERE level = 'county' AND is_standard AND population > 0 ORDER BY code"
        ).fetchall()
        codes = np.array([c for c, _p, _n in counties])
        provinces = {c: p for c, p, _n in counties}
        population = np.array([n for _c, _p, n in counties], dtype=float)
        n_users = n_priorities
        home = rng.choice(codes.size, size=n_users, p=population / population.sum())
        now = "2026-11-01 00:00:00+00"
        copy_rows(
            connection, "users",
            "id, phone, display_name, home_code, verified_at, email_digest, is_active, created_at",
            ((i + 1, f"1{i:010d}", f"居民{i}", str(codes[h]), now, False, True, now)
             for i, h in enumerate(home.tolist())),
        )  # fmt: skip
        # Group users by county so supporters can be drawn from a priority's own county.
        by_county = np.argsort(home, kind="stable")
        starts = np.searchsorted(home[by_county], np.arange(codes.size))
        sizes = np.bincount(home, minlength=codes.size)
        author = rng.integers(0, n_users, n_priorities)
        place = home[author]
        source = rng.integers(0, len(messages), n_priorities)
        status = np.where(rng.random(n_priorities) < 0.05, "archived", "published")
        hidden = rng.random(n_priorities) < 0.01
        assisted = rng.random(n_priorities) < 0.1
        worker = 1  # user 1 stands in for the community workers who entered assisted ones

        def priorities():  # noqa: ANN202
            for i in range(n_priorities):
                title, body, tokens = messages[source[i]]
                words = tokens.split()
                keep = rng.random(len(words)) < 0.8
                yield (
                    i + 1, title, body, str(codes[place[i]]), provinces[codes[place[i]]],
                    int(author[i]) + 1, worker if assisted[i] else None, str(status[i]), 0, 0, 3, 0,
                    0, "", " ".join(w for w, k in zip(words, keep, strict=True) if k),
                    now, now, now, now if hidden[i] else None,
                )  # fmt: skip

        copy_rows(
            connection, "priorities",
            "id, title, body, locality_code, province_code, author_id, entered_by_id, status, "
            "supports_count, offline_supports, threshold, comments_count, flags_count, "
            "search_text, tokens, created_at, updated_at, published_at, hidden_at",
            priorities(),
        )  # fmt: skip
        # ~3 supports per priority, popular ones far more (Pareto), by people of its county.
        wanted = int(3.1 * n_priorities)
        popularity = rng.pareto(1.5, n_priorities) + 1.0
        target = rng.choice(n_priorities, wanted, p=popularity / popularity.sum())
        county = place[target]
        pick = starts[county] + (rng.random(wanted) * sizes[county]).astype(np.int64)
        supporter = by_county[pick]
        pairs = np.unique(target.astype(np.int64) * n_users + supporter)
        # Supports arrive over time, not priority by priority: shuffle the table's row order.
        pairs = pairs[rng.permutation(pairs.size)]
        target, supporter = pairs // n_users, pairs % n_users
        offline = rng.random(pairs.size) < 0.05
        copy_rows(
            connection, "supports", "id, priority_id, user_id, entered_by_id, created_at",
            ((i + 1, int(p) + 1, int(u) + 1, worker if o else None, now)
             for i, (p, u, o) in enumerate(zip(target.tolist(), supporter.tolist(),
                                               offline.tolist(), strict=True))),
        )  # fmt: skip
        for table in ("users", "priorities", "supports"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
            connection.execute(f"VACUUM ANALYZE {table}")
    return {"users": n_users, "priorities": n_priorities, "supports": int(pairs.size)}


def timed(function, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    """Load (or reuse) the database, time everything and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--priorities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--exact", action="store_true", help="also time the exact path once")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="NAME", help="use an already loaded database")
    args = parser.parse_args()

    name = args.reuse or f"massline_bench_{uuid.uuid4().hex[:8]}"
    url = SERVER.rsplit("/", 1)[0] + "/" + name
    if not args.reuse:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        run(args, name, url)
    finally:
        if not args.keep and not args.reuse:
            with psycopg.connect(SERVER, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped {name}")
        else:
            print(f"kept {name}")


def run(args: argparse.Namespace, name: str, url: str) -> None:
    """Everything after the database exists."""
    from flask_migrate import upgrade

    from massline import create_app
    from massline.extensions import db
    from massline.localities.service import load_registry
    from massline.matching.engine import rank_localities
    from massline.matching.service import MatchRequest, locality_data, match, rank_idea
    from massline.matching.store import service as store
    from massline.matching.store.models import RelevanceIndexRecord
    from massline.matching.store.relevant import people_by_home, top_evidence
    from massline.priorities.categories import ensure_categories
    from massline.text import tokenize

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://"),
         "MASSLINE_DATA_DIR": str(data_dir())}
    )  # fmt: skip
    with app.app_context():
        load_s = 0.0
        if not args.reuse:
            upgrade()
            load_registry(db.session, data_dir() / "localities")
            ensure_categories(db.session)
            db.session.commit()
            load_s, counts = timed(load, url, args.priorities, args.seed)
            print(f"loaded {name}: {counts} in {load_s:.0f} s (COPY, then VACUUM ANALYZE)")
        session = db.session
        print(f"load average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        def count_supports() -> int:
            return session.execute(db.text("SELECT count(*) FROM supports")).scalar_one()

        base_s = min(timed(count_supports)[0] for _ in range(3))
        n_supports = count_supports()
        rows: list[tuple[str, float]] = [("baseline: SELECT count(*) FROM supports", base_s)]

        build_s, record = timed(store.build_index, session)
        session.commit()
        rows.append((f"index build ({record.documents:,} priorities, {record.terms:,} terms, "
                     f"{record.size_bytes / 2**20:.0f} MiB)", build_s))  # fmt: skip
        count_s, _ = timed(store.refresh_participants, session, record)
        session.commit()
        rows.append(("participant counts (tick refresh)", count_s))

        store._cache.clear()  # a fresh process: the first call loads the saved index
        first_s, _ = timed(rank_idea, session, MatchRequest(IDEAS["lifts"]))
        rows.append(("first ranking in a new process (loads the index)", first_s))
        session.rollback()

        prepared = store.prepare(session)
        data = locality_data(session, "county")
        for label, text in IDEAS.items():
            request = MatchRequest(text)
            warm = [timed(rank_idea, session, request)[0] for _ in range(args.repeats)]
            session.rollback()
            idea = tokenize(text)
            query_s, (ids, weights) = timed(prepared.index.weights, idea)
            people_s, homes = timed(people_by_home, session, ids, weights)
            evidence_s, _ = timed(top_evidence, session, ids, weights, "county")
            session.rollback()
            people = sum(row.people for row in homes)
            rows.append((f"warm ranking '{label}' ({ids.size:,} relevant priorities, "
                         f"{people:,} distinct people), median of {args.repeats}",
                         statistics.median(warm)))  # fmt: skip
            rows.append(("  of which: index query", query_s))
            rows.append(("  of which: relevant people summed by home (SQL)", people_s))
            rows.append(("  of which: evidence, top 3 per county (SQL)", evidence_s))
            portfolio_s, _ = timed(match, session, request)
            session.rollback()
            rows.append(("  match() with the k=10 portfolio (not in the target)", portfolio_s))

        # Baseline 2: the engine alone, ranking every county from per-county sums in memory.
        online = np.random.default_rng(0).random(len(data)) * 50
        rows.insert(1, ("baseline: engine alone, prior + ranking from in-memory sums",
                        min(timed(rank_localities, data, online, online * 20 + 30)[0]
                            for _ in range(3))))  # fmt: skip
        if args.exact:
            session.execute(db.delete(RelevanceIndexRecord))
            store._cache.clear()
            exact_s, _ = timed(rank_idea, session, MatchRequest(IDEAS["lifts"]))
            session.rollback()
            rows.append(("exact path, no saved index (fit + count on the call)", exact_s))
        print(f"{n_supports:,} supports; load average after: {os.getloadavg()[0]:.1f}")
        print(f"{'step':<92} {'seconds':>8} {'× count(*)':>10}")
        for label, seconds in rows:
            print(f"{label:<92} {seconds:8.3f} {seconds / base_s:10.1f}")


if __name__ == "__main__":
    main()
