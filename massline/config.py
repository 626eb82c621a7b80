"""Default settings; the instance file and MASSLINE_* environment variables override them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    """Settings that hold when nothing else is configured."""

    SECRET_KEY = "dev-only-change-me"
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_VERIFICATION = "5 per 10 minutes"
    RATELIMIT_LOGIN = "20 per 10 minutes"
    # Comments on a meeting's wall, per person: a lively meeting, not a flood.
    RATELIMIT_WALL = "6 per minute"

    MASSLINE_DATA_DIR = str(PROJECT_ROOT.parent / "shared" / "data")
    MASSLINE_THRESHOLD_RATE = 0.01
    MASSLINE_THRESHOLD_FLOOR = 100
    # Per-level overrides of the rate, e.g. {"province": 0.001}
    MASSLINE_THRESHOLD_RATES: dict[str, float] = {}
    MASSLINE_REPORT_DUE_MONTHS = 1
    MASSLINE_ARCHIVE_MONTHS = 12
    # Chengdu's rule: accepted by residents above 80% satisfaction with enough ratings.
    MASSLINE_ACCEPTANCE_RATE = 0.8
    MASSLINE_ACCEPTANCE_MIN_RATINGS = 20
    MASSLINE_UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    MASSLINE_PAGE_SIZE = 20
    MASSLINE_SMS_SENDER = "outbox"
    # Email: the outbox is delivered over SMTP by `tick`.
    MASSLINE_SMTP_HOST = "127.0.0.1"
    MASSLINE_SMTP_PORT = 25
    MASSLINE_SMTP_TLS = False
    MASSLINE_SMTP_USER = ""
    MASSLINE_SMTP_PASSWORD = ""
    MASSLINE_MAIL_SENDER = "massline@localhost"
    MASSLINE_MAIL_MAX_ATTEMPTS = 5
    # Daily digests go out with the first tick after this hour, Beijing time.
    MASSLINE_DIGEST_HOUR = 7
    # How often the meeting room's screen asks for new comments (seconds).
    MASSLINE_WALL_POLL_SECONDS = 4
    MASSLINE_CODE_TTL_MINUTES = 10
    MASSLINE_CODE_MAX_ATTEMPTS = 5
    MASSLINE_TOKEN_DAYS = 90


def _coerce(raw: str, default: Any) -> Any:
    """Parse an environment string into the type of the default it replaces."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, dict | list | tuple):
        return json.loads(raw)
    return raw


def from_environment(environ: dict[str, str] | os._Environ[str], current: dict[str, Any]) -> dict:
    """Settings taken from DATABASE_URL and MASSLINE_* variables."""
    found: dict[str, Any] = {}
    if environ.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(environ["DATABASE_URL"])
    if environ.get("MASSLINE_SECRET_KEY"):
        found["SECRET_KEY"] = environ["MASSLINE_SECRET_KEY"]
    if environ.get("MASSLINE_RATELIMIT_STORAGE_URI"):
        found["RATELIMIT_STORAGE_URI"] = environ["MASSLINE_RATELIMIT_STORAGE_URI"]
    for key, raw in environ.items():
        if key.startswith("MASSLINE_") and key in current:
            found[key] = _coerce(raw, current[key])
    return found


def normalise_database_url(url: str) -> str:
    """Point postgres:// and postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
