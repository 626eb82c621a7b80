"""The one fixture set for the whole suite: a real database (SQLite, or PostgreSQL when
DATABASE_URL is set), migrated once with the real locality registry, emptied after each test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from massline import create_app
from massline.config import normalise_database_url
from massline.extensions import db

ROOT = Path(__file__).resolve().parents[1]
# Reference data loaded once per session and kept between tests.
KEPT_TABLES = {"localities", "categories", "alembic_version"}


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real-data folder (MASSLINE_DATA_DIR, default ../shared/data)."""
    path = Path(os.environ.get("MASSLINE_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not (path / "localities" / "counties.csv").exists():
        pytest.fail(f"shared data not found at {path}; set MASSLINE_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway database: a SQLite file, or a new PostgreSQL database beside DATABASE_URL."""
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "massline-test.sqlite")
        return
    base = make_url(normalise_database_url(configured))
    name = f"massline_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app_config(database_url: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Settings every test app shares; also used for servers started by tests."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MASSLINE_DATA_DIR": str(data_dir),
        "RATELIMIT_ENABLED": False,
        # Small but still census-derived thresholds: 芙蓉区 (~0.6 M residents) needs 6.
        "MASSLINE_THRESHOLD_RATE": 0.00001,
        "MASSLINE_THRESHOLD_FLOOR": 3,
    }


@pytest.fixture(scope="session")
def _session_app(app_config: dict) -> Iterator[Flask]:
    """The app, with the schema migrated and the registry loaded once."""
    from flask_migrate import upgrade

    from massline.localities.service import load_registry
    from massline.priorities.categories import ensure_categories

    app = create_app(app_config)
    with app.app_context():
        upgrade()
        load_registry(db.session, Path(app_config["MASSLINE_DATA_DIR"]) / "localities")
        ensure_categories(db.session)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    """The app inside an app context; every table but the reference data is emptied after."""
    with _session_app.app_context():
        yield _session_app
        db.session.remove()
        _empty_tables()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (cookies kept between its requests)."""
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(_session_app: Flask) -> Iterator[str]:
    """The session app served over real HTTP on 127.0.0.1 (same database); yields the base URL.

    Tests that use it must also depend on `app`, so their rows are emptied afterwards.
    """
    import threading

    from werkzeug.serving import make_server

    # Port 0: the OS picks a free port, so parallel runs never collide.
    server = make_server("127.0.0.1", 0, _session_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def smtp(app: Flask) -> Iterator[Any]:
    """A real SMTP server for this test, where the app's email goes; `.received` is the mail."""
    from tests.servers import smtp_server

    with smtp_server(app.config) as inbox:
        yield inbox
