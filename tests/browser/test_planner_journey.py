"""A central planner enters an idea, reads the ranking and portfolio, and designates a site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from massline.extensions import db
from massline.feasibility.models import Report
from massline.matching.models import Pilot
from tests.browser.kit import DESKTOP, log_in, shoot
from tests.factories import make_user
from tests.matching.test_service import seed


def test_planner_enters_idea_ranks_and_designates(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    seed()
    planner = make_user(roles=(("planner", "000000"),), password="correct horse")
    phone = planner.phone
    db.session.close()  # SQLite: no transaction of ours may hold the lock while the server runs

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    try:
        log_in(page, phone, "correct horse", "/ideas/")
        page.fill("#idea-title", "老旧小区加装电梯")
        page.fill("#idea-body", "为老旧小区加装电梯，方便老人上下楼。")
        page.click("#create-idea")
        page.fill("#k", "2")
        page.fill("#min_participants", "3")
        page.click("#run-match")
        page.wait_for_selector("#ranking")
        assert "芙蓉区" in page.inner_text("#ranking tr:nth-child(2)")
        assert "老旧小区加装电梯" in page.inner_text("#ranking")
        shoot(page, artifacts, "planner-ranking")
        boxes = page.locator("#portfolio input[name=codes]")
        for i in range(1, boxes.count()):
            boxes.nth(i).uncheck()
        page.click("#designate")
        page.wait_for_selector(".flash")
        shoot(page, artifacts, "planner-designated")
    finally:
        context.close()
    pilot = db.session.scalar(select(Pilot))
    assert pilot is not None and pilot.status == "designated"
    report = db.session.scalar(select(Report).where(Report.subject_type == "pilot"))
    assert report.subject_id == pilot.id
