"""A citizen's first visit, in a real browser: register, verify, submit, support."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask
from sqlalchemy import func, select

from massline.accounts.models import User
from massline.extensions import db
from massline.notifications.models import OutboxMessage
from massline.priorities.models import Priority, Support
from tests.browser.kit import MOBILE, shoot
from tests.factories import HOME, NEIGHBOUR, make_priority, make_user

PHONE = "13912345678"
TITLE = "芙蓉区五一大道人行横道绿灯太短老人过不去"
BODY = (
    "五一大道与韶山路路口的人行横道绿灯只有二十秒，"
    "老人和带孩子的家长常常走到一半就变红灯，希望延长到四十秒。"
)


def _sms_code(phone: str) -> str:
    """The six digits of the latest SMS to the phone, as the outbox recorded it."""
    body = db.session.scalar(
        select(OutboxMessage.body)
        .where(OutboxMessage.channel == "sms", OutboxMessage.recipient == phone)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    # End the read at once: SQLite transactions take the write lock, and the server needs it.
    db.session.rollback()
    assert body is not None, "no verification SMS in the outbox"
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)


def _supports_shown(page: Any) -> int:
    """The support count the progress bar announces to screen readers."""
    return int(page.get_attribute(".progress[role=progressbar]", "aria-valuenow"))


def test_citizen_registers_submits_and_supports(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    """From the home page to a published priority and one counted support of another."""
    neighbour = make_user(display_name="隔壁王阿姨", home_code=HOME)
    other = make_priority(
        neighbour,
        title="社区菜市场门口违章停车堵住消防通道",
        body="每天早上菜市场门口停满私家车，消防车根本进不来，希望划线并安排巡查。",
    )
    other_id = other.id
    db.session.rollback()

    context = browser.new_context(viewport=MOBILE, locale="zh-CN", base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/")
        # Chinese unless the visitor asks otherwise.
        assert page.get_attribute("html", "lang").startswith("zh")
        shoot(page, artifacts, "01-home")

        page.click("header a[href='/register']")
        page.wait_for_url("**/register")
        page.fill("#phone", PHONE)
        page.fill("#display_name", "芙蓉居民小李")
        page.fill("#password", "correct horse battery")
        page.fill("#locality_code", HOME)
        shoot(page, artifacts, "02-register")
        page.click("#register-form button[type=submit]")
        page.wait_for_url("**/verify")
        # Wandering off before entering the code: every page offers the way back.
        page.goto("/")
        page.click("main a[href='/verify']")
        page.wait_for_url("**/verify")

        page.fill("#code", _sms_code(PHONE))
        page.click("#verify")
        page.wait_for_url(f"{live_server}/")
        assert page.locator(".flash").count() == 1
        # The "not verified yet" banner is gone.
        assert page.locator("main a[href='/verify']").count() == 0
        shoot(page, artifacts, "03-home-verified")

        page.click("header a[href='/priorities/new']")
        page.wait_for_url("**/priorities/new")
        page.fill("#title", TITLE)
        page.fill("#body", BODY)
        page.select_option("#locality_code", HOME)
        category = page.eval_on_selector(
            "#category", "s => [...s.options].map(o => o.value).filter(Boolean)[0]"
        )
        page.select_option("#category", category)
        shoot(page, artifacts, "04-submit-form")
        page.click("#submit")
        page.wait_for_url(re.compile(r"/priorities/\d+$"))
        own_id = int(page.url.rsplit("/", 1)[1])
        assert page.locator(".progress[role=progressbar]").is_visible()
        assert page.inner_text("h1") == TITLE
        assert _supports_shown(page) == 0
        shoot(page, artifacts, "05-own-priority")

        page.goto("/")
        page.click(f"main a[href='/priorities/{other_id}']")
        page.wait_for_url(f"**/priorities/{other_id}")
        before = _supports_shown(page)
        page.click("#support")
        page.wait_for_selector("#supported")
        assert _supports_shown(page) == before + 1
        assert page.locator("#support").count() == 0
        shoot(page, artifacts, "06-supported")
    finally:
        context.close()

    user = db.session.scalar(select(User).where(User.phone == PHONE))
    assert user is not None and user.is_verified and user.home_code == HOME
    own = db.session.get(Priority, own_id)
    assert (own.title, own.author_id, own.locality_code, own.status) == (
        TITLE,
        user.id,
        HOME,
        "published",
    )
    assert own.category is not None and own.category.slug == category
    rows = db.session.execute(select(Support.priority_id, Support.user_id)).all()
    assert rows == [(other_id, user.id)]
    assert db.session.scalar(select(func.count()).select_from(Support)) == 1
    assert db.session.get(Priority, other_id).supports_count == before + 1


def test_sign_in_never_sends_the_browser_off_site(
    app: Flask, live_server: str, browser: Any
) -> None:
    """A crafted ?next= after sign-in stays on this site, as the browser itself reads it."""
    citizen = make_user(password="correct horse battery")
    phone = citizen.phone
    db.session.rollback()
    here = urlsplit(live_server).netloc
    off_site: list[str] = []

    def guard(route: Any) -> None:
        # Nothing may leave 127.0.0.1; note what tried to.
        if urlsplit(route.request.url).netloc == here:
            route.continue_()
        else:
            off_site.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport=MOBILE, locale="zh-CN", base_url=live_server)
    context.set_default_timeout(10_000)
    context.route("**/*", guard)
    page = context.new_page()
    try:
        for target in (
            "//example.com/",
            "/\\example.com/",
            "/\t/example.com/",
            "https://example.com/",
        ):
            page.goto("/login?next=" + quote(target, safe=""))
            page.fill("#phone", phone)
            page.fill("#password", "correct horse battery")
            page.click("#login")
            page.wait_for_load_state()
            assert off_site == [], target
            assert urlsplit(page.url).netloc == here and urlsplit(page.url).path == "/"
    finally:
        context.close()


def test_visitors_who_cannot_act_are_shown_the_way(
    app: Flask, live_server: str, browser: Any, artifacts: Path
) -> None:
    """Signed out: a sign-in link that comes back; living elsewhere: no button, a reason."""
    priority_id = make_priority(make_user(home_code=HOME)).id
    outsider = make_user(display_name="天心区居民", home_code=NEIGHBOUR, password="correct horse")
    phone = outsider.phone
    db.session.rollback()

    context = browser.new_context(
        viewport=MOBILE, locale="zh-CN", base_url=live_server, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        response = page.goto("/priorities/new")
        assert response is not None and response.status == 401
        page.click("#sign-in")
        page.fill("#phone", phone)
        page.fill("#password", "correct horse")
        page.click("#login")
        page.wait_for_url("**/priorities/new")
        assert page.locator("#priority-form").is_visible()

        page.goto(f"/priorities/{priority_id}")
        assert page.locator("#support").count() == 0
        assert page.locator("#not-eligible").is_visible()
        shoot(page, artifacts, "08-not-eligible")
        # Someone else's priority: no edit form that could only fail on saving.
        response = page.goto(f"/priorities/{priority_id}/edit")
        assert response is not None and response.status == 403
        assert page.locator("#priority-form").count() == 0
    finally:
        context.close()
    assert db.session.scalar(select(func.count()).select_from(Support)) == 0
