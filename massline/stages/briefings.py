"""A facilitator's edits to a process: stage briefings, their attachments, moderation."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from massline.accounts.models import User
from massline.accounts.service import require_role
from massline.errors import Conflict, NotFound, ValidationError
from massline.stages.models import Process, Stage, StageAttachment
from massline.stages.schemas import BriefingInput
from massline.stages.service import FACILITATOR
from massline.storage import Storage, check_image

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# One file plus the multipart form around it, so that a file just over the limit still
# reaches the content check and its clear message instead of a bare 413.
UPLOAD_REQUEST_MAX_BYTES = ATTACHMENT_MAX_BYTES + 64 * 1024
# Enough for the papers of one stage; a cap keeps one page from listing hundreds of files.
MAX_ATTACHMENTS = 20
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
}
LINK_SCHEMES = ("http://", "https://", "mailto:")
# Path separators, controls and the replacement character a broken encoding leaves behind.
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffd\"]")


class _BriefingMarkdown(MarkdownIt):
    """CommonMark without raw HTML or images, and links only to the web or to email."""

    def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
        """Only http(s) and mailto: no javascript:, data: or relative links."""
        return url.strip().lower().startswith(LINK_SCHEMES)


def _markdown() -> MarkdownIt:
    md = _BriefingMarkdown("commonmark", {"html": False, "linkify": False, "typographer": False})
    # Pictures belong in attachments: a cheap phone should not fetch images from anywhere.
    md.disable("image")
    md.enable("table")

    def link_open(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MD = _markdown()


def render_briefing(text: str) -> Markup:
    """A briefing's Markdown as safe HTML (raw HTML shown as text, links http(s)/mailto only)."""
    return Markup(_MD.render(text or ""))


def get_stage(session: Session, stage_id: int, *, process_id: int | None = None) -> Stage:
    """A stage by id (of the given process, when one is given), or NotFound."""
    stage = session.get(Stage, stage_id) if 0 < stage_id < 2**31 else None
    if stage is None or (process_id is not None and stage.process_id != process_id):
        raise NotFound()
    return stage


def get_attachment(
    session: Session, attachment_id: int, *, process_id: int | None = None
) -> StageAttachment:
    """An attachment by id (of the given process, when one is given), or NotFound."""
    found = session.get(StageAttachment, attachment_id) if 0 < attachment_id < 2**31 else None
    if found is None:
        raise NotFound()
    if process_id is not None and session.get(Stage, found.stage_id).process_id != process_id:
        raise NotFound()
    return found


def _require_facilitator(session: Session, user: User | None, stage: Stage) -> User:
    process = session.get(Process, stage.process_id)
    require_role(user, FACILITATOR, process.locality)
    return user


def edit_briefing(session: Session, user: User | None, stage: Stage, data: BriefingInput) -> Stage:
    """Change a stage's title and briefing (facilitators of the process's place)."""
    _require_facilitator(session, user, stage)
    if data.title is not None:
        stage.title = data.title
    if data.briefing is not None:
        stage.briefing = data.briefing
    session.flush()
    return stage


def attachment_extension(data: bytes, *, max_bytes: int) -> str:
    """The extension of a real PDF or JPEG/PNG/WebP image within the size limit, else refuse.

    Decided by the content, never by the file's name or the browser's content type.
    """
    if not data:
        raise ValidationError(fields={"file": _l("Choose a file to upload.")})
    if len(data) > max_bytes:
        raise ValidationError(
            _l("The file is too large (at most %(n)s MB).", n=max_bytes // (1024 * 1024)),
            fields={"file": _l("too large")},
        )
    if data.startswith(b"%PDF-"):
        return "pdf"
    try:
        return check_image(data, max_bytes=max_bytes)
    except ValidationError as error:
        raise ValidationError(
            fields={"file": _l("Upload a PDF, or a JPEG, PNG or WebP image.")}
        ) from error


def clean_filename(raw: str | None, extension: str) -> str:
    """The uploaded name without any folder or control characters, ending in `extension`."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE_NAME.sub("", name).strip().strip(".")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    # The download name follows the content, so "报告.pdf" that is really a PNG opens as one.
    stem = stem.strip()[:150] or "attachment"
    return f"{stem}.{extension}"


def add_attachment(
    session: Session,
    user: User | None,
    stage: Stage,
    *,
    filename: str | None,
    data: bytes,
    storage: Storage,
    max_bytes: int = ATTACHMENT_MAX_BYTES,
) -> StageAttachment:
    """Check the file by its content, store it and list it with the stage's briefing."""
    uploader = _require_facilitator(session, user, stage)
    if len(stage.attachments) >= MAX_ATTACHMENTS:
        raise Conflict(_l("A stage can have at most %(n)s attachments.", n=MAX_ATTACHMENTS))
    extension = attachment_extension(data, max_bytes=max_bytes)
    key = storage.save(data, extension)
    try:
        attachment = StageAttachment(
            stage_id=stage.id,
            filename=clean_filename(filename, extension),
            content_type=CONTENT_TYPES[extension],
            size=len(data),
            storage_key=key,
            uploaded_by_id=uploader.id,
        )
        stage.attachments.append(attachment)
        session.flush()
    except Exception:
        storage.delete(key)
        raise
    return attachment


def remove_attachment(session: Session, user: User | None, attachment: StageAttachment) -> str:
    """Unlist an attachment; returns its storage key, to delete once the change is committed.

    The file goes only after the commit, so a failed commit never leaves a row without its file.
    """
    stage = session.get(Stage, attachment.stage_id)
    _require_facilitator(session, user, stage)
    key = attachment.storage_key
    stage.attachments.remove(attachment)
    session.flush()
    return key


def set_strict_moderation(
    session: Session, user: User | None, process: Process, strict: bool
) -> Process:
    """Switch Pol.is strict moderation: participants' statements wait for approval, or not."""
    require_role(user, FACILITATOR, process.locality)
    process.strict_moderation = strict
    session.flush()
    return process
