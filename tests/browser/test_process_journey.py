"""A facilitator opens a vTaiwan consultation, seeds statements and moves it to its opinion
stage; a citizen then votes on the statements one by one and sees the opinion groups."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from massline.extensions import db
from massline.models_common import utcnow
from massline.stages.models import Process, Statement, StatementVote
from massline.stages.statements import vote
from tests.browser.kit import DESKTOP, MOBILE, log_in, shoot
from tests.factories import PREFECTURE, make_user

STATEMENTS = ("小区里应该增加停车位", "应该把空地改成小公园", "应该给老人增加座椅",
              "儿童游乐设施很有必要", "改造费用应由政府全额承担")  # fmt: skip
# Two camps that split on parking and greenery and agree on the playground.
CAMPS = ((1, -1, -1, 1, 1), (-1, 1, 1, 1, -1))


def test_facilitator_runs_a_vtaiwan_process_and_a_citizen_sees_the_groups(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    facilitator = make_user(roles=(("facilitator", PREFECTURE),), password="correct horse")
    citizen = make_user(password="correct horse")
    voters = [make_user() for _ in range(20)]
    phones = facilitator.phone, citizen.phone
    db.session.close()  # SQLite: no transaction of ours may hold the lock while the server runs

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    try:
        log_in(page, phones[0], "correct horse", "/processes/new")
        page.fill("#title", "老旧小区公共空间怎么改？")
        page.fill("#description", "请说出您希望小区的公共空间怎么用。")
        page.select_option("#locality_code", PREFECTURE)
        page.check("input[name=template][value=vtaiwan]")
        page.fill("#starts_at", datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat())
        shoot(page, artifacts, "process-new")
        page.click("#open")
        page.wait_for_url("**/manage")
        for text in STATEMENTS:
            page.fill("#seed-text", text)
            page.click("#seed")
            page.wait_for_selector(".flash")
        page.fill("#advance-reason", "建议已收集，进入意见征集")
        page.click("#advance button[type=submit]")
        page.wait_for_selector(".flash")
        assert "意见征集" in page.inner_text("#stage-control")
        shoot(page, artifacts, "process-manage")
    finally:
        context.close()

    process = db.session.scalar(select(Process))
    assert process.template == "vtaiwan" and process.current_stage.kind == "opinion"
    seeded = db.session.scalars(select(Statement).order_by(Statement.id)).all()
    assert [s.text for s in seeded] == list(STATEMENTS)
    for i, voter in enumerate(voters):
        for statement, value in zip(seeded, CAMPS[i % 2], strict=True):
            vote(db.session, db.session.merge(voter), statement, value, utcnow())
    db.session.commit()
    process_id = process.id
    db.session.close()

    context = browser.new_context(viewport=MOBILE, locale="zh-CN", base_url=live_server)
    page = context.new_page()
    try:
        log_in(page, phones[1], "correct horse", f"/processes/{process_id}")
        assert "意见征集" in page.inner_text("#current-stage")
        shoot(page, artifacts, "process-vote")
        answers = dict(zip(STATEMENTS, CAMPS[0], strict=True))
        labels = {1: "同意", -1: "不同意"}
        for _ in STATEMENTS:
            text = page.inner_text("#next-statement .statement-text")
            page.click(f"#next-statement button:text-is('{labels[answers[text]]}')")
            page.wait_for_selector(".flash")
        page.wait_for_selector("#all-voted")
        page.wait_for_selector("#groups")
        assert page.locator("#groups ~ svg, svg[aria-labelledby]").count() >= 1
        assert page.locator("[id^=group-]").count() == 2
        assert "儿童游乐设施很有必要" in page.inner_text("#consensus")
        page.wait_for_selector("#my-group")
        shoot(page, artifacts, "process-groups")
    finally:
        context.close()

    mine = db.session.scalars(
        select(StatementVote.value)
        .join(Statement, Statement.id == StatementVote.statement_id)
        .where(StatementVote.user_id == citizen.id)
        .order_by(Statement.id)
    ).all()
    assert tuple(mine) == CAMPS[0]
