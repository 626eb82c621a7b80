"""Text normalisation: width, case, whitespace and traditional → simplified Chinese."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable

__all__ = ["normalize"]

_WHITESPACE = re.compile(r"\s+")
_converter_lock = threading.Lock()
_converter: Callable[[str], str] | None = None


def _t2s() -> Callable[[str], str]:
    """Return OpenCC's traditional → simplified converter (identity if OpenCC is absent)."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                try:
                    import opencc
                except ImportError:  # the pipeline still works on simplified text without it
                    _converter = str
                else:
                    _converter = opencc.OpenCC("t2s").convert
    return _converter


def normalize(text: str) -> str:
    """Fold width (NFKC), convert to simplified Chinese, lowercase latin, collapse whitespace."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return _WHITESPACE.sub(" ", text.lower()).strip()
    # NFKC can yield capitals (℃ → °C) and lower() or OpenCC can yield non-NFKC forms, so
    # case-fold between two NFKC passes; this keeps normalize() idempotent.
    text = unicodedata.normalize("NFKC", _t2s()(text).lower())
    return _WHITESPACE.sub(" ", text).strip()
