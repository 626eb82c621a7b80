"""Where uploaded files live: an interface, and a folder under the instance path.

An object store (S3, OSS, MinIO) can replace `LocalStorage` by offering the same three
methods; nothing else in massline touches the files.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import Protocol

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from massline.errors import ValidationError

IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 40_000_000


class Storage(Protocol):
    """Saves, reads and deletes blobs by key."""

    def save(self, data: bytes, extension: str) -> str:
        """Store the bytes under a new random key and return it."""

    def path(self, key: str) -> Path:
        """A local path to read the blob from."""

    def delete(self, key: str) -> None:
        """Remove the blob if present."""


class LocalStorage:
    """Blobs as files in one folder, named by random keys."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, extension: str) -> str:
        """Write the bytes to a new file."""
        self.root.mkdir(parents=True, exist_ok=True)
        key = f"{secrets.token_hex(16)}.{extension}"
        (self.root / key).write_bytes(data)
        return key

    def path(self, key: str) -> Path:
        """The file for a key (keys are generated, never user input)."""
        if "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("bad storage key")
        return self.root / key

    def delete(self, key: str) -> None:
        """Remove the file if present."""
        self.path(key).unlink(missing_ok=True)


def check_image(data: bytes, *, max_bytes: int) -> str:
    """The file extension of a real JPEG/PNG/WebP image within the size limit, else refuse."""
    if len(data) > max_bytes:
        raise ValidationError(
            _l("The photo is too large (at most %(n)s MB).", n=max_bytes // (1024 * 1024)),
            fields={"photo": _l("too large")},
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(fields={"photo": _l("The photo has too many pixels.")})
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValidationError(fields={"photo": _l("Upload a JPEG, PNG or WebP photo.")}) from error
    if kind not in IMAGE_FORMATS:
        raise ValidationError(fields={"photo": _l("Upload a JPEG, PNG or WebP photo.")})
    return IMAGE_FORMATS[kind]
