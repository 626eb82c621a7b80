"""Language and time zone choice: zh-CN first, English second."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request, session
from flask_babel import get_locale, refresh
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "draft": _l("Draft"),
    "published": _l("Collecting supports"),
    "successful": _l("Successful"),
    "answered": _l("Answered"),
    "adopted": _l("Adopted"),
    "piloted": _l("Piloted"),
    "declined": _l("Declined"),
    "implemented": _l("Implemented"),
    "evaluated": _l("Evaluated"),
    "archived": _l("Archived"),
    "retired": _l("Retired"),
}
SORT_LABELS = {"newest": _l("Newest"), "supports": _l("Most supported"), "hot": _l("Hot")}
RETIRE_LABELS = {
    "duplicate": _l("Duplicate"),
    "done": _l("Already done"),
    "unfeasible": _l("Not feasible"),
    "other": _l("Other"),
}
ROLE_LABELS = {
    "citizen": _l("Citizen"),
    "community_worker": _l("Community worker"),
    "facilitator": _l("Facilitator"),
    "official": _l("Official"),
    "planner": _l("Central planner"),
    "admin": _l("Administrator"),
}
REPORT_STATUS_LABELS = {
    "open": _l("Awaiting the officials"),
    "draft": _l("Being written"),
    "published": _l("Published"),
}
CHOICE_LABELS = {
    "lawful": _l("Lawful"),
    "needs_rule_change": _l("Needs a change of rules"),
    "unlawful": _l("Unlawful"),
    "feasible": _l("Feasible"),
    "partly": _l("Partly feasible"),
    "not_feasible": _l("Not feasible"),
    "adopt": _l("Adopt"),
    "pilot": _l("Pilot first"),
    "decline": _l("Decline"),
    "defer": _l("Defer"),
}
LEVEL_LABELS = {
    "nation": _l("Nation"),
    "province": _l("Province"),
    "prefecture": _l("Prefecture"),
    "county": _l("County"),
}


def select_locale() -> str:
    """?lang= in this request, then the user's saved choice, the session, the browser, zh_CN."""
    supported = ("zh_CN", "en")
    if not has_request_context():  # CLI commands and the tick speak the default language
        return "zh_CN"
    asked = request.args.get("lang")
    if asked in supported:
        return asked
    user = g.get("user")
    if user is not None and user.locale in supported:
        return user.locale
    if session.get("lang") in supported:
        return session["lang"]
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best == "en":
        return "en"
    return "zh_CN"


def select_timezone() -> str:
    """China runs on one clock."""
    return "Asia/Shanghai"


def init_app(app: Flask) -> None:
    """Remember an explicit ?lang= choice and expose the locale to templates."""

    @app.before_request
    def _remember_language() -> None:
        # flask-babel caches the locale on `g`, which outlives a request when an app
        # context is pushed around several (tests, CLI): start each request afresh.
        refresh()
        asked = request.args.get("lang")
        if asked in ("zh_CN", "en"):
            session["lang"] = asked

    app.jinja_env.globals.update(
        status_label=lambda key: STATUS_LABELS.get(key, key),
        sort_label=lambda key: SORT_LABELS.get(key, key),
        retire_label=lambda key: RETIRE_LABELS.get(key, key),
        role_label=lambda key: ROLE_LABELS.get(key, key),
        level_label=lambda key: LEVEL_LABELS.get(key, key),
        report_status_label=lambda key: REPORT_STATUS_LABELS.get(key, key),
        choice_label=lambda key: CHOICE_LABELS.get(key, key or "—"),
    )

    @app.context_processor
    def _locale_context() -> dict:
        locale = str(get_locale() or "zh_CN")
        return {"current_locale": locale, "html_lang": "en" if locale == "en" else "zh-CN"}
