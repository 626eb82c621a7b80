"""The room's screen shows comments typed on phones as they arrive, and drops hidden ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from massline.extensions import db
from massline.localities.service import get_locality
from massline.stages import service
from tests.browser.kit import DESKTOP, MOBILE, log_in, shoot
from tests.factories import PREFECTURE, make_user


def test_screen_updates_without_reload(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    facilitator = make_user(roles=(("facilitator", PREFECTURE),), password="correct horse")
    resident = make_user(password="correct horse")
    locality = get_locality(db.session, PREFECTURE)
    start = datetime.now(UTC) - timedelta(minutes=1)
    process = service.create_process(
        db.session, facilitator, title="社区议事会", description="公共空间怎么改？",
        locality=locality, template="vtaiwan",
        stages=service.stages_from_template("vtaiwan", start),
    )  # fmt: skip
    db.session.commit()
    pid, phones = process.id, (facilitator.phone, resident.phone)
    # On SQLite every transaction holds the write lock: end ours before the server writes.
    db.session.close()
    usual_poll = app.config["MASSLINE_WALL_POLL_SECONDS"]
    app.config["MASSLINE_WALL_POLL_SECONDS"] = 0.5
    screen_context = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=live_server)
    phone_context = browser.new_context(viewport=MOBILE, locale="zh-CN", base_url=live_server)
    try:
        screen = screen_context.new_page()
        log_in(screen, phones[0], "correct horse")
        screen.goto(f"/processes/{pid}/wall")
        screen.evaluate("window.notReloaded = true")
        phone = phone_context.new_page()
        log_in(phone, phones[1], "correct horse", f"/processes/{pid}/wall/comment")
        phone.fill("#wall-body", "希望多装几张长椅，给老人歇脚")
        phone.click("#wall-form button[type=submit]")
        phone.wait_for_url(f"**/processes/{pid}/wall/comment")
        shoot(phone, artifacts, "wall-comment")

        screen.wait_for_selector("#wall li:has-text('给老人歇脚')", timeout=10_000)
        assert screen.evaluate("window.notReloaded") is True  # arrived by polling
        assert screen.is_hidden("#wall-empty")
        shoot(screen, artifacts, "wall-screen")

        viewer = screen_context.new_page()  # a second screen, watching the first one's hide
        viewer.goto(f"/processes/{pid}/wall")
        viewer.evaluate("window.notReloaded = true")
        # The hide button of a post that arrived by polling is a real form too.
        screen.click("#wall li:has-text('给老人歇脚') button")
        screen.wait_for_load_state()
        viewer.wait_for_selector(
            "#wall li:has-text('给老人歇脚')", state="detached", timeout=10_000
        )
        assert viewer.evaluate("window.notReloaded") is True
        assert viewer.is_visible("#wall-empty")
    finally:
        app.config["MASSLINE_WALL_POLL_SECONDS"] = usual_poll
        screen_context.close()
        phone_context.close()
