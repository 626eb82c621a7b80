"""Supports per second through the HTTP API (gunicorn, PostgreSQL) beside raw psycopg inserts.

    PYTHONPATH=. .venv/bin/python bench/supports.py [--users 2000] [--threads 16]

Creates a throwaway database next to DATABASE_URL (default the local `postgres` database),
migrates it and loads the locality registry as `flask setup` does, makes verified citizens with
API tokens and a few priorities through the services, then sends every (citizen, priority)
support twice over: once as a plain `INSERT INTO supports` per transaction from psycopg, once as
`POST /api/v1/priorities/<id>/supports` to gunicorn, both from the same number of client threads.
The client runs on the same machine, so it takes CPU from the server it measures.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from massline import create_app  # noqa: E402
from massline.config import normalise_database_url  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

HOME = "430102"  # 芙蓉区, 长沙
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def create_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """A new empty database beside `base_url`; returns its URL and a function that drops it."""
    base = make_url(normalise_database_url(base_url))
    name = f"massline_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def prepare(database_url: str, data_dir: Path, users: int, priorities: int) -> dict:
    """Schema, registry, citizens with tokens and priorities, as `flask setup` and the API do."""
    from flask_migrate import upgrade

    from massline.accounts.service import create_user, issue_token
    from massline.extensions import db
    from massline.localities.service import load_registry
    from massline.priorities.categories import ensure_categories
    from massline.priorities.schemas import PriorityInput
    from massline.priorities.service import ThresholdRule, create_priority

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "MASSLINE_DATA_DIR": str(data_dir)})
    with app.app_context():
        upgrade()
        load_registry(db.session, data_dir / "localities")
        ensure_categories(db.session)
        db.session.commit()
        # A threshold nobody reaches keeps every priority supportable for the whole run.
        rule = ThresholdRule(rate=0.0, floor=10**9)
        people = [
            create_user(
                db.session,
                phone=f"139{i:08d}",
                display_name=f"居民{i}",
                home_code=HOME,
                verified=True,
            )
            for i in range(users)
        ]
        tokens = {person.id: issue_token(db.session, person, days=1) for person in people}

        def submit(title: str) -> int:
            data = PriorityInput(
                title=title,
                body="芙蓉区居民反映的问题，希望有关部门尽快研究解决。",
                locality_code=HOME,
                category=None,
                draft=False,
            )
            return create_priority(db.session, people[0], data, rule=rule).id

        priority_ids = [submit(f"小区第{n}号路灯坏了") for n in range(priorities)]
        warm_id = submit("预热用的问题")
        db.session.commit()
        db.engine.dispose()
    return {"tokens": tokens, "priority_ids": priority_ids, "warm_id": warm_id}


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time the processes have used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def gunicorn_pids(master: int) -> list[int]:
    """The gunicorn master and its workers."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def backend_pids(dsn: str) -> list[int]:
    """PostgreSQL server processes serving this database right now (same machine)."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


class CpuMeter:
    """CPU seconds spent by this client, and by given server processes, during a block."""

    def __init__(self, servers: Callable[[], list[int]]) -> None:
        self.servers = servers
        self.client = self.server = 0.0

    def __enter__(self) -> CpuMeter:
        self.pids = self.servers()
        self._client0, self._server0 = time.process_time(), cpu_seconds(self.pids)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client = time.process_time() - self._client0
        self.server = cpu_seconds(self.pids) - self._server0


def run_threads(work: Callable[[int], None], threads: int) -> float:
    """Run work(k) on `threads` threads released together; seconds from release to last end."""
    barrier = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def body(k: int) -> None:
        barrier.wait()
        try:
            work(k)
        except BaseException as error:  # noqa: BLE001 - re-raised below
            failures.append(error)

    pool = [threading.Thread(target=body, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed


def raw_inserts(dsn: str, pairs: Sequence[tuple[int, int]], threads: int) -> tuple[float, CpuMeter]:
    """Seconds to insert every (priority, user) support, one autocommitted INSERT each, and
    the CPU the client and the PostgreSQL backends spent on it."""
    connections = [psycopg.connect(dsn, autocommit=True) for _ in range(threads)]
    statement = "INSERT INTO supports (priority_id, user_id, created_at) VALUES (%s, %s, now())"

    def work(k: int) -> None:
        with connections[k].cursor() as cursor:
            for priority_id, user_id in pairs[k::threads]:
                cursor.execute(statement, (priority_id, user_id))

    try:
        with CpuMeter(lambda: backend_pids(dsn)) as meter:
            seconds = run_threads(work, threads)
        return seconds, meter
    finally:
        for connection in connections:
            connection.close()


def api_supports(
    port: int,
    pairs: Sequence[tuple[int, int]],
    tokens: dict[int, str],
    threads: int,
    *,
    health_only: bool = False,
) -> tuple[float, Counter]:
    """Seconds to POST every support to the API, and the response statuses seen.

    With `health_only`, the same number of `GET /healthz` calls instead: what the HTTP stack
    alone (client, gunicorn, Flask) costs, the ceiling any API call stays under.
    """
    statuses: Counter = Counter()
    lock = threading.Lock()

    def work(k: int) -> None:
        seen: Counter = Counter()
        for priority_id, user_id in pairs[k::threads]:
            # gunicorn's sync workers close every connection, so each call opens one.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if health_only:
                connection.request("GET", "/healthz")
            else:
                connection.request(
                    "POST",
                    f"/api/v1/priorities/{priority_id}/supports",
                    headers={"Authorization": "Bearer " + tokens[user_id]},
                )
            response = connection.getresponse()
            response.read()
            connection.close()
            seen[response.status] += 1
        with lock:
            statuses.update(seen)

    return run_threads(work, threads), statuses


def main(argv: Sequence[str] | None = None) -> None:
    """Prepare, measure both paths, print the rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--priorities", type=int, default=4)
    parser.add_argument("--threads", type=int, default=16, help="client threads, both paths")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--gunicorn-args", default="", help="extra gunicorn options, e.g. '-k gthread --threads 4'"
    )
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("MASSLINE_DATA_DIR", ROOT.parent / "shared" / "data"))

    database_url, drop = create_database(args.database_url)
    try:
        started = time.perf_counter()
        made = prepare(database_url, data_dir, args.users, args.priorities)
        tokens, priority_ids = made["tokens"], made["priority_ids"]
        pairs = [(pid, uid) for uid in tokens for pid in priority_ids]
        print(
            f"prepared {len(tokens)} citizens, {len(priority_ids)} priorities "
            f"in {time.perf_counter() - started:.1f} s; {len(pairs)} supports per path, "
            f"{args.threads} client threads, gunicorn -w {args.workers} {args.gunicorn_args}"
        )
        dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)

        raw_seconds, raw_cpu = raw_inserts(dsn, pairs, args.threads)
        with psycopg.connect(dsn, autocommit=True) as connection:
            stored = connection.execute("SELECT count(*) FROM supports").fetchone()[0]
            assert stored == len(pairs), stored
            connection.execute("TRUNCATE supports, follows")
            connection.execute("VACUUM ANALYZE")

        with gunicorn(
            database_url, data_dir, workers=args.workers, extra_args=args.gunicorn_args.split()
        ) as server:
            port = int(server.url.rsplit(":", 1)[1])
            # Warm every worker (imports, connection pool) on a priority not measured.
            warm = [(made["warm_id"], uid) for uid in list(tokens)[:200]]
            api_supports(port, warm, tokens, args.threads)
            health_seconds, _ = api_supports(port, pairs, tokens, args.threads, health_only=True)
            with (
                CpuMeter(lambda: backend_pids(dsn)) as database_cpu,
                CpuMeter(lambda: gunicorn_pids(server.pid)) as api_cpu,
            ):
                api_seconds, statuses = api_supports(port, pairs, tokens, args.threads)
            errors = server.errors()
        with psycopg.connect(dsn) as connection:
            counted = connection.execute(
                "SELECT count(*) FROM supports WHERE priority_id = ANY(%s)", (priority_ids,)
            ).fetchone()[0]
            total = connection.execute(
                "SELECT sum(supports_count) FROM priorities WHERE id = ANY(%s)", (priority_ids,)
            ).fetchone()[0]
        assert statuses == Counter({201: len(pairs)}), (statuses, errors[:5])
        assert counted == total == len(pairs), (counted, total)

        raw_rate = len(pairs) / raw_seconds
        api_rate = len(pairs) / api_seconds
        n = len(pairs)

        def ms(seconds: float) -> str:
            return f"{1000 * seconds / n:.2f}"

        print(f"raw psycopg inserts: {raw_rate:8.0f} /s  ({raw_seconds:.2f} s)")
        print(f"HTTP API supports:   {api_rate:8.0f} /s  ({api_seconds:.2f} s)")
        print(f"API / raw ratio:     {api_rate / raw_rate:8.2f}  (target >= 0.33)")
        health_rate = n / health_seconds
        ceiling = health_rate / raw_rate
        print(f"GET /healthz:        {health_rate:8.0f} /s  (HTTP ceiling; / raw {ceiling:.2f})")
        # CPU per support does not depend on what else the machine runs; the rates do.
        print(
            "CPU ms per support:  raw: client "
            + ms(raw_cpu.client)
            + ", postgres "
            + ms(raw_cpu.server)
            + " | API: client "
            + ms(api_cpu.client)
            + ", gunicorn "
            + ms(api_cpu.server)
            + ", postgres "
            + ms(database_cpu.server)
        )
        print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    finally:
        drop()


if __name__ == "__main__":
    main()
