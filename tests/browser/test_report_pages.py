"""An official answers a successful priority in the browser; the public sees the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from massline.extensions import db
from massline.feasibility.models import Report
from tests.browser.kit import MOBILE, log_in, shoot
from tests.factories import HOME, make_report, make_user


def test_official_publishes_report_and_dashboard_shows_it(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    official = make_user(roles=(("official", HOME),), password="correct horse")
    report = make_report(publish=False)
    overdue = make_report(publish=False)
    overdue.due_at = overdue.opened_at.replace(year=overdue.opened_at.year - 1)
    db.session.commit()
    phone, report_id, priority_id = official.phone, report.id, report.subject_id
    # On SQLite every transaction holds the write lock: end ours before the server writes.
    db.session.close()

    context = browser.new_context(viewport=MOBILE, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    try:
        log_in(page, phone, "correct horse")
        page.goto(f"/reports/{report_id}")
        page.select_option("#legality", "lawful")
        page.fill("#legal_basis", "《城市道路照明设施管理规定》第十条")
        page.select_option("#feasibility", "feasible")
        page.fill("#feasibility_explanation", "更换三盏路灯，两周可完成。")
        page.fill("#cost_estimate", "12000")
        page.fill("#cost_low", "10000")
        page.fill("#cost_high", "15000")
        page.fill("#duration_months", "1")
        page.fill("#department", "芙蓉区城市管理和综合执法局")
        page.select_option("#decision", "adopt")
        page.click("#publish")
        page.wait_for_selector("#report")
        assert "芙蓉区城市管理和综合执法局" in page.inner_text("#report")
        shoot(page, artifacts, "report-published")

        page.goto(f"/reports/?locality={HOME}")
        figures = page.inner_text("#dashboard")
        assert "1" in figures
        shoot(page, artifacts, "reports-dashboard")
        page.goto(f"/priorities/{priority_id}")
        assert page.is_visible("#report-link")
    finally:
        context.close()
    db.session.expire_all()
    stored = db.session.scalar(select(Report).where(Report.id == report_id))
    assert (stored.status, stored.legality, stored.decision) == ("published", "lawful", "adopt")
    assert str(stored.cost_estimate) == "12000.00"
