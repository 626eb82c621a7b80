"""A planner or facilitator reads the themes of a city in the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from massline.extensions import db
from massline.themes import service
from massline.themes.models import Theme
from tests.browser.kit import MOBILE, shoot
from tests.themes.test_service import load_messages


def test_theme_list_and_theme_page(
    app: Flask, live_server: str, browser: Any, artifacts: Path, data_dir: Path
) -> None:
    load_messages(data_dir, limit=200)
    service.build_themes(db.session, n_themes=6)
    db.session.commit()
    biggest = db.session.scalar(select(Theme).order_by(Theme.size.desc()).limit(1))
    theme_id, label, size = biggest.id, biggest.label, biggest.size
    db.session.close()  # SQLite: no transaction of ours may hold the lock while the server runs

    context = browser.new_context(viewport=MOBILE, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    try:
        page.goto("/themes/")
        assert label in page.content()
        shoot(page, artifacts, "themes")
        page.goto(f"/themes/{theme_id}")
        assert page.locator("svg").count() >= 1  # the monthly trend chart
        shoot(page, artifacts, "theme")
        page.goto(f"/priorities?theme={theme_id}")
        cards = page.locator(".card").count()
        assert 0 < cards <= min(size, 20)
    finally:
        context.close()
