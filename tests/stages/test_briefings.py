"""Stage briefings: safe Markdown, attachments checked by content, their forms and JSON calls."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from massline.errors import Conflict, ValidationError
from massline.extensions import db
from massline.localities.service import get_locality
from massline.stages import briefings, service
from massline.stages.models import Process, Stage, StageAttachment
from massline.storage import LocalStorage
from tests.factories import ELSEWHERE, HOME, bearer, make_user, row_counts, sign_in

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def image(kind: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    """A real little image in the given format."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, format=kind)
    return buffer.getvalue()


def open_process(facilitator=None, code: str = HOME) -> Process:
    """A committed vTaiwan process in `code`, opened by a facilitator of that place."""
    facilitator = facilitator or make_user(roles=(("facilitator", code),))
    process = service.create_process(
        db.session,
        facilitator,
        title="社区微更新",
        description="我们社区的公共空间该怎么改？",
        locality=get_locality(db.session, code),
        template="vtaiwan",
        stages=service.stages_from_template("vtaiwan", datetime.now(UTC)),
    )
    db.session.commit()
    return process


def multipart(**values) -> dict:
    """A multipart body built in memory (the test client spools big ones to unclosed files).

    A `(bytes, filename)` value is a file, anything else a plain field.
    """
    encoded = {
        name: FileStorage(io.BytesIO(v[0]), filename=v[1]) if isinstance(v, tuple) else v
        for name, v in values.items()
    }
    boundary, body = encode_multipart(encoded)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def stored(app):
    """The attachments folder; files a test leaves there are removed afterwards."""
    folder = Path(app.instance_path) / "uploads" / "briefings"
    before = set(folder.iterdir()) if folder.is_dir() else set()
    yield folder
    for path in (set(folder.iterdir()) if folder.is_dir() else set()) - before:
        path.unlink()


def files_in(folder: Path) -> set[Path]:
    return set(folder.iterdir()) if folder.is_dir() else set()


def facilitating(client, code: str = HOME):
    """A process and a signed-in facilitator of its place, with their form token."""
    facilitator = make_user(roles=(("facilitator", code),))
    process = open_process(facilitator)
    return process, sign_in(client, facilitator)


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags_of(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


HOSTILE = st.sampled_from([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:x'>",
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](&#106;avascript:alert(1))",
    "[x](java\tscript:1)", "<javascript:alert(1)>", "[r]: javascript:alert(1)\n\n[r]",
    "[x]( javascript:1)", "[x](data:text/html,<script>)", "[x](vbscript:1)", "![p](javascript:1)",
    "[x](https://example.org \"t\" onmouseover=1)", "<svg onload=1>", "onclick=", "\"", "'",
    "<", ">", "&", "(", ")", "[", "]", "`", "*", "\n", "\n\n", "    ", "|a|b|\n|-|-|\n", "mailto:",
    "http://x", "<mailto:a@b.cn>", "\x00", "\u202e", "链接",
])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(HOSTILE, st.text(max_size=8)), max_size=12).map("".join))
def test_rendering_any_text_never_yields_script_handlers_or_javascript_urls(text):
    html = str(briefings.render_briefing(text))
    assert "<script" not in html.lower()
    for tag, attrs in tags_of(html):
        assert tag not in {"script", "img", "iframe", "svg", "object", "style"}
        for name, value in attrs:
            assert not name.lower().startswith("on"), html
            if name in {"href", "src"}:
                assert (value or "").lower().startswith(("http://", "https://", "mailto:")), html


def test_rendering_keeps_plain_markdown_and_limits_links():
    html = str(briefings.render_briefing(
        "# 议题\n\n**重要**：请看 [公告](https://example.gov.cn/a) 或写信 <mailto:a@b.cn>\n\n"
        "- 一\n- 二\n\n<b>粗</b> [坏](javascript:alert(1)) [相对](/x) ![图](https://x/y.png)"
    ))  # fmt: skip
    assert "<strong>重要</strong>" in html and "<li>一</li>" in html and "<h1>议题</h1>" in html
    assert '<a href="https://example.gov.cn/a" rel="nofollow noopener noreferrer">公告</a>' in html
    assert 'href="mailto:a@b.cn"' in html
    assert "&lt;b&gt;粗&lt;/b&gt;" in html  # raw HTML is shown, not run
    assert "[坏](javascript:alert(1))" in html and 'href="javascript' not in html  # left as text
    assert 'href="/x"' not in html
    assert "<img" not in html
    assert str(briefings.render_briefing("")) == ""


def test_attachments_are_checked_by_content():
    limit = 1024 * 1024
    assert briefings.attachment_extension(PDF, max_bytes=limit) == "pdf"
    for kind, extension in (("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")):
        assert briefings.attachment_extension(image(kind), max_bytes=limit) == extension
    for bad in (b"", b"hello, not a pdf", b"<html><script>", image("GIF"), b" %PDF-1.4"):
        with pytest.raises(ValidationError) as refused:
            briefings.attachment_extension(bad, max_bytes=limit)
        assert "file" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        briefings.attachment_extension(PDF + b"\0" * limit, max_bytes=limit)
    assert "1 MB" in str(refused.value.message)


@pytest.mark.parametrize(("raw", "extension", "expected"), [
    ("会议纪要 第1期.pdf", "pdf", "会议纪要 第1期.pdf"),
    ("C:\\Users\\王\\图.PDF", "pdf", "图.pdf"),
    ("../../etc/passwd", "png", "passwd.png"),
    ("照片.pdf", "png", "照片.png"),
    ("a\x00b\ufffd\".jpg", "jpg", "ab.jpg"),
    ("", "webp", "attachment.webp"),
    (None, "pdf", "attachment.pdf"),
    ("...", "pdf", "attachment.pdf"),
    ("长" * 300 + ".pdf", "pdf", "长" * 150 + ".pdf"),
])  # fmt: skip
def test_clean_filename(raw, extension, expected):
    assert briefings.clean_filename(raw, extension) == expected


def test_a_stage_takes_at_most_so_many_attachments(app, tmp_path):
    process = open_process()
    user = make_user(roles=(("facilitator", HOME),))
    stage = process.stages[0]
    store = LocalStorage(tmp_path)
    small = image()
    for number in range(briefings.MAX_ATTACHMENTS):
        briefings.add_attachment(
            db.session, user, stage, filename=f"{number}.png", data=small, storage=store
        )
    db.session.commit()
    with pytest.raises(Conflict):
        briefings.add_attachment(
            db.session, user, stage, filename="x.png", data=small, storage=store
        )
    assert len(list(tmp_path.iterdir())) == briefings.MAX_ATTACHMENTS


def test_api_edits_a_briefing_and_refuses_the_rest(app, client):
    facilitator = make_user(roles=(("facilitator", HOME),))
    process = open_process(facilitator)
    stage_id = process.stages[1].id
    url = f"/api/v1/stages/{stage_id}"
    mine = bearer(facilitator)
    edited = client.patch(
        url, json={"title": "意见征集", "briefing": "**请投票** <i>x</i>"}, headers=mine
    )
    assert edited.status_code == 200
    body = edited.get_json()
    assert body["briefing"] == "**请投票** <i>x</i>" and body["attachments"] == []
    assert "<strong>请投票</strong> &lt;i&gt;x&lt;/i&gt;" in body["briefing_html"]
    emptied = client.patch(url, json={"briefing": ""}, headers=mine).get_json()
    assert emptied["title"] == "意见征集" and emptied["briefing"] == ""
    client.patch(url, json={"briefing": "保留"}, headers=mine)
    citizen, outsider = bearer(make_user()), bearer(make_user(roles=(("facilitator", ELSEWHERE),)))
    before = row_counts()
    refusals = [
        (url, {"title": "别人"}, citizen, 403),
        (url, {"title": "外地"}, outsider, 403),
        (url, {"title": "匿名"}, {}, 401),
        ("/api/v1/stages/999999", {"title": "没有"}, mine, 404),
        ("/api/v1/stages/99999999999", {"title": "太大"}, mine, 404),
        (url, {"title": ""}, mine, 422),
        (url, {"title": 5}, mine, 422),
        (url, {"briefing": ["a"]}, mine, 422),
        (url, {"briefing": "长" * 6001}, mine, 422),
        (url, {"title": "坏\x00字"}, mine, 422),
        (url, {}, mine, 422),
        (url, [1, 2], mine, 422),
    ]
    for path, payload, headers, status in refusals:
        response = client.patch(path, json=payload, headers=headers)
        assert response.status_code == status, (payload, response.get_json())
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    broken = client.patch(url, data=b"{\xff", headers=mine | {"Content-Type": "application/json"})
    assert broken.status_code == 422
    db.session.expire_all()
    stage = db.session.get(Stage, stage_id)
    assert (stage.title, stage.briefing) == ("意见征集", "保留")
    assert row_counts() == before


def test_api_uploads_lists_downloads_and_deletes_attachments(app, client, stored):
    facilitator = make_user(roles=(("facilitator", HOME),))
    process = open_process(facilitator)
    stage_id = process.stages[0].id
    headers = bearer(facilitator)
    untouched = files_in(stored)
    made = client.post(
        f"/api/v1/stages/{stage_id}/attachments",
        headers=headers,
        **multipart(file=(PDF, "居民议事规则.pdf")),
    )
    assert made.status_code == 201
    body = made.get_json()
    assert body["filename"] == "居民议事规则.pdf" and body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF) and len(files_in(stored) - untouched) == 1
    with client.get(body["url"]) as downloaded:
        assert downloaded.status_code == 200 and downloaded.data == PDF
    listed = client.patch(
        f"/api/v1/stages/{stage_id}", json={"briefing": "见附件"}, headers=headers
    )
    assert [a["id"] for a in listed.get_json()["attachments"]] == [body["id"]]

    files = files_in(stored)
    citizen = bearer(make_user())
    before = row_counts()
    for values in (
        {"file": (b"MZ\x90\x00 not a pdf", "virus.pdf")},
        {"file": (b"", "empty.pdf")},
        {"other": "x"},
        {"file": (PDF + b"\0" * briefings.ATTACHMENT_MAX_BYTES, "big.pdf")},
    ):
        refused = client.post(
            f"/api/v1/stages/{stage_id}/attachments", headers=headers, **multipart(**values)
        )
        assert refused.status_code == 422 and "file" in refused.get_json()["error"]["fields"]
    refused_citizen = client.post(
        f"/api/v1/stages/{stage_id}/attachments", headers=citizen, **multipart(file=(PDF, "a.pdf"))
    )
    assert refused_citizen.status_code == 403
    assert files_in(stored) == files
    assert row_counts() == before

    other = bearer(make_user(roles=(("facilitator", ELSEWHERE),)))
    assert client.delete(f"/api/v1/attachments/{body['id']}", headers=other).status_code == 403
    assert client.delete("/api/v1/attachments/424242", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/attachments/{body['id']}", headers=headers).status_code == 200
    assert db.session.get(StageAttachment, body["id"]) is None and files_in(stored) == untouched
    assert client.get(body["url"]).status_code == 404
    assert client.delete(f"/api/v1/attachments/{body['id']}", headers=headers).status_code == 404


def test_attachments_upload_download_and_delete(app, client, stored):
    process, token = facilitating(client)
    stage = process.stages[0]
    untouched = files_in(stored)
    upload = f"/processes/{process.id}/manage/stages/{stage.id}/attachments"
    sent = client.post(upload, **multipart(csrf_token=token, file=(PDF, "会议纪要 第1期.pdf")))
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"#stage-{stage.id}")
    photo = image("JPEG")
    client.post(upload, **multipart(csrf_token=token, file=(photo, "现场.pdf")))
    pdf, jpeg = db.session.scalars(select(StageAttachment).order_by(StageAttachment.id)).all()
    assert (pdf.filename, pdf.content_type, pdf.size) == (
        "会议纪要 第1期.pdf",
        "application/pdf",
        len(PDF),
    )
    assert (jpeg.filename, jpeg.content_type) == ("现场.jpg", "image/jpeg")
    assert len(files_in(stored) - untouched) == 2

    public = client.get(f"/processes/{process.id}").get_data(as_text=True)
    link = f"/processes/{process.id}/attachments/{pdf.id}"
    assert link in public and "会议纪要 第1期.pdf" in public
    with app.test_client().get(link) as downloaded:  # signed out: the briefing is public
        assert downloaded.status_code == 200 and downloaded.data == PDF
        assert downloaded.mimetype == "application/pdf"
        assert downloaded.headers["X-Content-Type-Options"] == "nosniff"
        disposition = downloaded.headers["Content-Disposition"]
        assert (
            "filename*=UTF-8''%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81%20%E7%AC%AC1%E6%9C%9F.pdf"
            in (disposition)
        )
        disposition.encode("latin-1")  # a header value any client can read
    with client.get(f"/processes/{process.id}/attachments/{jpeg.id}") as downloaded:
        assert downloaded.mimetype == "image/jpeg" and downloaded.data == photo
    other = open_process(code=ELSEWHERE)
    assert client.get(f"/processes/{other.id}/attachments/{pdf.id}").status_code == 404
    assert client.get(f"/processes/{process.id}/attachments/999999").status_code == 404

    delete = f"/processes/{process.id}/manage/attachments/{pdf.id}/delete"
    outsider = sign_in(client, make_user(roles=(("facilitator", ELSEWHERE),)))
    assert client.post(delete, data={"csrf_token": outsider}).status_code == 403
    assert len(files_in(stored) - untouched) == 2
    token = sign_in(client, make_user(roles=(("facilitator", HOME),)))
    assert client.post(delete, data={"csrf_token": token}).status_code == 302
    assert client.post(delete, data={"csrf_token": token}).status_code == 404
    assert db.session.scalars(select(StageAttachment.id)).all() == [jpeg.id]
    assert len(files_in(stored) - untouched) == 1
    assert client.get(link).status_code == 404


@pytest.mark.parametrize(("values", "status"), [
    ({"file": (b"%PDX-1.4 not a pdf", "a.pdf")}, 422),
    ({"file": (b"GIF89a\x01\x00\x01\x00", "a.png")}, 422),
    ({"file": (b"", "empty.pdf")}, 422),
    ({"title": "no file at all"}, 422),
    ({"file": (PDF + b"\0" * briefings.ATTACHMENT_MAX_BYTES, "big.pdf")}, 422),
    ({"file": (PDF + b"\0" * (briefings.UPLOAD_REQUEST_MAX_BYTES + 1), "huge.pdf")}, 413),
])  # fmt: skip
def test_bad_uploads_are_refused_and_store_nothing(app, client, stored, values, status):
    process, token = facilitating(client)
    stage = process.stages[0]
    files, before = files_in(stored), row_counts()
    upload = f"/processes/{process.id}/manage/stages/{stage.id}/attachments"
    refused = client.post(upload, **multipart(csrf_token=token, **values))
    assert refused.status_code == status
    if status == 422:
        assert 'id="file-error"' in refused.get_data(as_text=True)
    assert files_in(stored) == files and row_counts() == before


def test_uploads_need_the_form_token_and_the_role(app, client, stored):
    process, token = facilitating(client)
    stage = process.stages[0]
    citizen, colleague = make_user(), make_user(roles=(("facilitator", HOME),))
    files, before = files_in(stored), row_counts()
    upload = f"/processes/{process.id}/manage/stages/{stage.id}/attachments"
    assert client.post(upload, **multipart(file=(PDF, "a.pdf"))).status_code == 400
    assert client.post(upload, **multipart(csrf_token="x", file=(PDF, "a.pdf"))).status_code == 400
    with client.session_transaction() as session:
        del session["user_id"]
    assert (
        client.post(upload, **multipart(csrf_token=token, file=(PDF, "a.pdf"))).status_code == 401
    )
    token = sign_in(client, citizen)
    assert (
        client.post(upload, **multipart(csrf_token=token, file=(PDF, "a.pdf"))).status_code == 403
    )
    token = sign_in(client, colleague)
    missing = f"/processes/{process.id}/manage/stages/999999/attachments"
    assert (
        client.post(missing, **multipart(csrf_token=token, file=(PDF, "a.pdf"))).status_code == 404
    )
    assert files_in(stored) == files and row_counts() == before
