"""A priority page is light (under 100 KB on first load) and works without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from massline.extensions import db
from massline.priorities import discussion
from massline.priorities.models import Priority, Support
from massline.priorities.schemas import CommentInput
from tests.browser.kit import MOBILE, log_in, shoot
from tests.factories import HOME, make_priority, make_user

BUDGET = 100 * 1024
PASSWORD = "correct horse battery"
# A long, realistic message: the page must stay light with real content, not an empty shell.
BODY = "\n".join(
    f"第{i}条：芙蓉区东湖街道的老旧小区没有电梯，八十岁以上的老人下楼买菜、看病都很困难，"
    "希望区里统一规划加装电梯，并对低收入家庭给予补贴。"
    for i in range(1, 25)
)


def _first_load(context: Any, url: str) -> dict[str, int]:
    """Bytes of every response body a fresh page load pulls in, by path."""
    page = context.new_page()
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    page.goto(url, wait_until="load")
    sizes: dict[str, int] = {}
    for response in responses:
        # Redirects have no body; everything else counts in full (decoded) size.
        body = b"" if 300 <= response.status < 400 else response.body()
        path = urlsplit(response.url).path
        sizes[path] = sizes.get(path, 0) + len(body)
    page.close()
    return sizes


def _page_with_discussion() -> int:
    """A published priority with a long body and a dozen comments and replies."""
    author = make_user(display_name="东湖街道居民")
    priority = make_priority(author, title="老旧小区加装电梯，补贴低收入家庭", body=BODY)
    neighbours = [make_user(display_name=f"邻居{i}") for i in range(6)]
    for i, neighbour in enumerate(neighbours):
        top = discussion.add_comment(
            db.session, priority, neighbour, CommentInput(f"我家也是六楼，{i}号楼急需电梯。", None)
        )
        discussion.add_comment(
            db.session, priority, author, CommentInput("谢谢支持，请转发给楼里的邻居。", top.id)
        )
    db.session.commit()
    return priority.id


def test_priority_page_first_load_under_100_kb(app: Flask, live_server: str, browser: Any) -> None:
    """HTML + CSS + QR SVG of a priority page, as a first-time visitor's phone loads them."""
    priority_id = _page_with_discussion()
    db.session.rollback()
    context = browser.new_context(
        viewport=MOBILE, locale="zh-CN", base_url=live_server, java_script_enabled=False
    )
    try:
        sizes = _first_load(context, f"{live_server}/priorities/{priority_id}")
    finally:
        context.close()
    assert {
        f"/priorities/{priority_id}",
        "/static/style.css",
        f"/priorities/{priority_id}/qr.svg",
    } <= set(sizes), sizes
    total = sum(sizes.values())
    print(f"\npriority page first load: {total} bytes {sizes}")
    assert total < BUDGET, sizes


def test_support_without_javascript(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    """Sign in and support with plain form posts; a stale second tab's replay counts nothing."""
    priority_id = _page_with_discussion()
    citizen = make_user(display_name="不用脚本的居民", home_code=HOME, password=PASSWORD)
    phone, citizen_id = citizen.phone, citizen.id
    db.session.rollback()

    context = browser.new_context(
        viewport=MOBILE, locale="zh-CN", base_url=live_server, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        log_in(page, phone, PASSWORD, f"/priorities/{priority_id}")
        # Routing disables Chromium's HTTP cache, so this load is a full first load
        # of the heavier signed-in page (with its support, follow, report and comment forms).
        context.route("**/*", lambda route: route.continue_())
        sizes = _first_load(context, f"{live_server}/priorities/{priority_id}")
        total = sum(sizes.values())
        print(f"\nsigned-in priority page first load: {total} bytes {sizes}")
        assert "/static/style.css" in sizes and total < BUDGET, sizes
        context.unroute("**/*")

        stale = context.new_page()
        stale.goto(f"/priorities/{priority_id}")
        before = int(page.get_attribute(".progress[role=progressbar]", "aria-valuenow"))
        page.click("#support")
        page.wait_for_selector("#supported")
        assert int(page.get_attribute(".progress[role=progressbar]", "aria-valuenow")) == before + 1
        shoot(page, artifacts, "07-supported-no-js")

        # The old tab still shows the button; pressing it replays the same support.
        stale.click("#support")
        stale.wait_for_selector("#supported")
        assert (
            int(stale.get_attribute(".progress[role=progressbar]", "aria-valuenow")) == before + 1
        )
    finally:
        context.close()

    rows = db.session.execute(select(Support.priority_id, Support.user_id)).all()
    assert rows == [(priority_id, citizen_id)]
    assert db.session.get(Priority, priority_id).supports_count == before + 1


def test_consultation_page_with_groups_is_light_and_votes_without_javascript(
    app: Flask, live_server: str, browser: Any
) -> None:
    """The opinion stage's page, with hundreds of voters in the plot, as a phone loads it."""
    from tests.stages.test_statements import opinion_process, vote_in_camps

    process, made, _facilitator = opinion_process()
    vote_in_camps(made, 200)
    citizen = make_user(home_code=HOME, password=PASSWORD)
    phone, process_id = citizen.phone, process.id
    db.session.rollback()
    context = browser.new_context(
        viewport=MOBILE, locale="zh-CN", base_url=live_server, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    try:
        sizes = _first_load(context, f"{live_server}/processes/{process_id}")
        total = sum(sizes.values())
        print(f"\nconsultation page first load: {total} bytes {sizes}")
        assert "/static/style.css" in sizes and total < BUDGET, sizes
        page = context.new_page()
        log_in(page, phone, PASSWORD, f"/processes/{process_id}")
        first = page.inner_text("#next-statement .statement-text")
        page.click("#next-statement button:text-is('同意')")
        page.wait_for_selector(".flash")
        assert page.inner_text("#next-statement .statement-text") != first
        assert page.locator("#groups").count() == 1
    finally:
        context.close()
