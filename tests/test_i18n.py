"""Every user-visible string has a Chinese translation, and each reader gets their language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, check_and_call_extract_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from flask_babel import refresh
from werkzeug.test import TestResponse

from massline.extensions import db
from tests.factories import bearer, make_priority, make_user, sign_in

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "massline" / "translations"
# Babel expands the app's "zh_CN" to zh_Hans_CN and gettext looks for that folder (or "zh"),
# never "zh_CN": a zh_CN folder is silently ignored and every page falls back to English.
ZH_PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
# Every %-token: `%(name)s`, bare `%s`, the escaped `%%` and a lone `%`. Templates always
# %-format their strings, so a translation that drops `%%` or adds a lone `%` breaks the page.
PERCENT_TOKEN = re.compile(r"%(?:\(\w+\))?[-#0 +]?\d*(?:\.\d+)?[sdifr%]|%")
ENGLISH = "en-US,en;q=0.9"
CHINESE = "zh-CN,zh;q=0.9,en;q=0.5"


def extracted_messages() -> dict[tuple[str | None, str], tuple[str, ...]]:
    """(context, msgid) → its source locations, extracted as `make messages` does."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    # The Makefile passes `-k _l` on top of babel.cfg's keywords; mirror both.
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found: dict[tuple[str | None, str], tuple[str, ...]] = {}
    for path in sorted((ROOT / "massline").rglob("*")):
        if not path.is_file():
            continue
        for filename, lineno, message, _comments, context in check_and_call_extract_file(
            str(path), method_map, options_map, None, keywords, (), True, dirpath=str(ROOT)
        ):
            msgid = message if isinstance(message, str) else message[0]
            key = (context, msgid)
            found[key] = (*found.get(key, ()), f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[tuple[str | None, str], tuple[str, ...]]:
    """The source strings, extracted once for the tests below (it walks every file)."""
    return extracted_messages()


def load_catalog(path: Path) -> Catalog:
    """A .po catalog as babel reads it."""
    with path.open("rb") as fh:
        return read_po(fh, locale=path.parts[-3])


def placeholders(text: str) -> list[str]:
    """The sorted %-tokens of a message; a translation must keep exactly the same ones."""
    return sorted(PERCENT_TOKEN.findall(text))


def test_extraction_finds_the_strings_of_python_and_every_template_folder(
    extracted: dict[tuple[str | None, str], tuple[str, ...]],
) -> None:
    """If babel.cfg missed a kind of source, the next test would pass vacuously."""
    found = extracted
    files = {loc.rsplit(":", 1)[0] for locs in found.values() for loc in locs}
    assert any(name.endswith(".py") for name in files)
    # Lazy `_l` strings at import time and `_()` calls in templates both count.
    assert (None, "Not found.") in found and (None, "Hot now") in found
    templates = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "massline").rglob("*.html")
        if "_(" in path.read_text(encoding="utf-8")
    }
    assert templates, "no translatable template found at all"
    assert templates <= files, f"templates babel.cfg does not reach: {sorted(templates - files)}"


def test_every_source_string_has_a_chinese_translation(
    extracted: dict[tuple[str | None, str], tuple[str, ...]],
) -> None:
    """A new `_()`/`_l()` string without a zh_CN msgstr fails here, naming string and place."""
    catalog = load_catalog(ZH_PO)
    problems = []
    for (context, msgid), locations in sorted(extracted.items(), key=str):
        where = ", ".join(locations[:3])
        entry = catalog.get(msgid, context)
        if entry is None:
            problems.append(f"{msgid!r} ({where}): not in the catalog; run `make messages`")
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(form.strip() for form in forms):
            state = "fuzzy" if entry.fuzzy else "untranslated"
            problems.append(f"{msgid!r} ({where}): {state} in zh_CN")
            continue
        # A plural entry's one Chinese form may follow the singular or the plural msgid.
        sources = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        for form in forms:
            if all(placeholders(form) != placeholders(source) for source in sources):
                problems.append(f"{msgid!r} ({where}): placeholders differ in {form!r}")
    assert not problems, "zh_CN translations missing or broken:\n" + "\n".join(problems)


def forms(string: str | tuple | list) -> tuple[str, ...]:
    """A translation's forms (one, or one per plural form: a tuple in .po, a list in .mo)."""
    return (string,) if isinstance(string, str) else tuple(string)


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_compiled_catalogs_match_their_sources(locale: str) -> None:
    """The app reads .mo files; a stale one serves old text, so `make translations` is due."""
    po = load_catalog(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path} is missing; run `make translations`"
    with mo_path.open("rb") as fh:
        mo = read_mo(fh)
    translated = [m for m in po if m.id and any(forms(m.string)) and not m.fuzzy]
    stale = [m.id for m in translated if mo.get(m.id) is None]
    stale += [
        m.id for m in translated if mo.get(m.id) and forms(mo[m.id].string) != forms(m.string)
    ]
    assert not stale, f"{locale} .mo is older than .po for: {stale[:5]}; run `make translations`"


def fetch(client: FlaskClient, url: str, method: str = "GET", **kwargs: object) -> TestResponse:
    """One test request with the language chosen afresh, as for every real request."""
    # The `app` fixture keeps one app context open and Flask reuses it, and the `g` where
    # flask-babel caches the locale, for every test request; real requests each get a new one.
    refresh()
    return client.open(url, method=method, **kwargs)


def html_lang(page: str) -> str:
    """The lang attribute of the page's <html> element."""
    found = re.search(r'<html lang="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_pages_are_chinese_by_default(client: FlaskClient) -> None:
    priority = make_priority()
    home = fetch(client, "/").get_data(as_text=True)
    assert html_lang(home) == "zh-CN"
    assert "当前热门" in home and "Hot now" not in home
    page = fetch(client, f"/priorities/{priority.id}").get_data(as_text=True)
    assert html_lang(page) == "zh-CN"
    # A lazy label and a string with placeholders, both rendered in Chinese.
    assert "征集支持中" in page
    assert f"已有 {priority.total_supports} 人支持，需要 {priority.threshold} 人" in page


def test_lang_parameter_switches_to_english_and_sticks(client: FlaskClient) -> None:
    priority = make_priority()
    first = fetch(client, "/?lang=en").get_data(as_text=True)
    assert html_lang(first) == "en"
    assert "Hot now" in first and "当前热门" not in first
    # No parameter and a Chinese browser: the session keeps the explicit choice.
    page = fetch(client, f"/priorities/{priority.id}", headers={"Accept-Language": CHINESE})
    text = page.get_data(as_text=True)
    assert html_lang(text) == "en"
    assert "Collecting supports" in text
    assert f"{priority.total_supports} of {priority.threshold} supports needed" in text
    back = fetch(client, "/?lang=zh_CN", headers={"Accept-Language": ENGLISH})
    assert html_lang(back.get_data(as_text=True)) == "zh-CN"
    assert html_lang(fetch(client, "/").get_data(as_text=True)) == "zh-CN"


def test_browser_language_is_followed_without_a_choice(client: FlaskClient) -> None:
    priority = make_priority()
    page = fetch(client, f"/priorities/{priority.id}", headers={"Accept-Language": ENGLISH})
    text = page.get_data(as_text=True)
    assert html_lang(text) == "en" and "Collecting supports" in text
    home = fetch(client, "/", headers={"Accept-Language": CHINESE}).get_data(as_text=True)
    assert html_lang(home) == "zh-CN" and "当前热门" in home


def test_api_errors_are_chinese_by_default_and_english_on_request(client: FlaskClient) -> None:
    missing = fetch(client, "/api/v1/priorities/999999")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == "没有找到相关内容。"
    english = fetch(client, "/api/v1/priorities/999999", headers={"Accept-Language": ENGLISH})
    assert english.get_json()["error"]["message"] == "Not found."

    headers = bearer(make_user())
    body = {"title": "路灯", "body": "芙蓉区某小区门口的路灯坏了。", "locality_code": "430102"}
    invalid = fetch(client, "/api/v1/priorities", "POST", json=body, headers=headers)
    assert invalid.status_code == 422
    error = invalid.get_json()["error"]
    assert error["message"] == "有些内容填写有误，请检查。"
    assert error["fields"]["title"] == "内容太短（至少 4 个字）。"
    invalid = fetch(
        client,
        "/api/v1/priorities",
        "POST",
        json=body,
        headers={**headers, "Accept-Language": ENGLISH},
    )
    error = invalid.get_json()["error"]
    assert error["message"] == "Some fields are not valid."
    assert error["fields"]["title"] == "This field is too short (at least 4 characters)."


def test_a_signed_in_users_saved_language_wins(client: FlaskClient) -> None:
    user = make_user(display_name="王阿姨")
    csrf = sign_in(client, user)
    fetch(client, "/?lang=zh_CN")  # a session choice, overruled once the account says English
    saved = fetch(
        client,
        "/account",
        "POST",
        data={"csrf_token": csrf, "display_name": "王阿姨", "locale": "en"},
        headers={"Accept-Language": CHINESE},
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert user.locale == "en"
    page = fetch(client, "/", headers={"Accept-Language": CHINESE}).get_data(as_text=True)
    assert html_lang(page) == "en" and "Hot now" in page
    # The same account over the API, from a Chinese phone, still reads English.
    missing = fetch(
        client, "/api/v1/priorities/999999", headers={**bearer(user), "Accept-Language": CHINESE}
    )
    assert missing.get_json()["error"]["message"] == "Not found."


def test_a_saved_chinese_choice_beats_an_english_browser(client: FlaskClient) -> None:
    user = make_user()
    user.locale = "zh_CN"
    db.session.commit()
    sign_in(client, user)
    page = fetch(client, "/", headers={"Accept-Language": ENGLISH}).get_data(as_text=True)
    assert html_lang(page) == "zh-CN" and "当前热门" in page
