"""A central planner enters an idea, reads the ranking and portfolio, and designates a site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from massline.extensions import db
from massline.feasibility.models import Report
from massline.matching.models import Pilot
from tests.browser.kit import DESKTOP, MOBILE, log_in, shoot
from tests.factories import make_user
from tests.matching.test_routes import seed_provinces
from tests.matching.test_service import seed


def enter_idea(page: Any, phone: str) -> None:
    """Sign the planner in and save the lifts idea; the page then offers to run a match."""
    log_in(page, phone, "correct horse", "/ideas/")
    page.fill("#idea-title", "老旧小区加装电梯")
    page.fill("#idea-body", "为老旧小区加装电梯，方便老人上下楼。")
    page.click("#create-idea")


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
        enter_idea(page, phone)
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


def test_planner_reads_the_tradeoff_chart_and_the_province_map(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    seed_provinces()
    planner = make_user(roles=(("planner", "000000"),), password="correct horse")
    phone = planner.phone
    db.session.close()

    context = browser.new_context(viewport=MOBILE, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    try:
        enter_idea(page, phone)
        page.fill("#k", "6")
        page.fill("#min_participants", "2")
        page.check("input[name=tradeoff]")
        page.click("#run-match")
        page.wait_for_selector("#tradeoff-chart")
        assert page.locator("#tradeoff-chart svg").count() == 2
        assert page.locator("#province-map g.tile").count() == 31
        assert page.locator("#province-map g.has-sites").count() >= 1
        for label, viewport in (("390", MOBILE), ("1280", DESKTOP)):
            page.set_viewport_size(viewport)
            first, second = (box(page, f"#tradeoff-chart svg >> nth={i}") for i in (0, 1))
            if label == "390":  # stacked, each as wide as the phone allows
                assert second["y"] >= first["y"] + first["height"] - 1
                assert first["width"] >= 300 and first["x"] + first["width"] <= 390
            else:  # side by side on a desk
                assert abs(second["y"] - first["y"]) < 1 and second["x"] > first["x"]
            tiles = box(page, "#province-map svg")
            assert tiles["x"] + tiles["width"] <= viewport["width"]
            for name in ("tradeoff-chart", "province-map"):
                page.locator(f"#{name}").screenshot(
                    path=str(artifacts / f"planner-{name}-{label}.png")
                )
        shoot(page, artifacts, "planner-charts")
    finally:
        context.close()


def box(page: Any, selector: str) -> dict[str, float]:
    """Where an element is drawn, in CSS pixels."""
    found = page.locator(selector).bounding_box()
    assert found is not None, selector
    return found
