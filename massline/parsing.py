"""Reading user input (an HTML form or a JSON body) into plain values, with clear errors."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from massline.errors import ValidationError

# C0/C1 controls other than tab and newline, plus the replacement character that a
# broken encoding leaves behind.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
# Ids and counts are 32-bit INTEGER columns: a bigger number can never match a row,
# and handing it to the database fails there (OverflowError, NumericValueOutOfRange).
DB_INT_MAX = 2**31 - 1


def request_data() -> Mapping[str, Any]:
    """The submitted fields: the JSON object for API calls, the form otherwise."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:
            # `silent` covers ValueError only; "[[[[…" nested past Python's limit is
            # just as unreadable and must not be a 500.
            data = None
        if data is None:
            raise ValidationError(_l("The body is not valid JSON in UTF-8."))
        if not isinstance(data, dict):
            raise ValidationError(_l("The body must be a JSON object."))
        return data
    return request.form


class Fields:
    """Collects every field error of one input before raising them together."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, Any] = {}

    def text(
        self,
        name: str,
        *,
        max_length: int,
        min_length: int = 1,
        required: bool = True,
        multiline: bool = False,
    ) -> str:
        """A trimmed string within the length bounds, free of control characters."""
        raw = self.data.get(name)
        if raw is None or raw == "":
            if required:
                self.errors[name] = _l("This field is required.")
            return ""
        if not isinstance(raw, str):
            self.errors[name] = _l("This field must be text.")
            return ""
        value = unicodedata.normalize("NFC", raw).strip()
        if multiline:
            value = value.replace("\r\n", "\n")
        if _FORBIDDEN.search(value) or (not multiline and ("\n" in value or "\r" in value)):
            self.errors[name] = _l("This field contains characters that are not allowed.")
            return ""
        if len(value) < min_length:
            self.errors[name] = (
                _l("This field is required.")
                if not value
                else _l("This field is too short (at least %(n)s characters).", n=min_length)
            )
            return ""
        if len(value) > max_length:
            self.errors[name] = _l(
                "This field is too long (at most %(n)s characters).", n=max_length
            )
            return ""
        return value

    def optional_text(self, name: str, *, max_length: int, multiline: bool = False) -> str | None:
        """Like `text`, but absent or blank gives None."""
        raw = self.data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return self.text(name, max_length=max_length, multiline=multiline) or None

    def integer(
        self,
        name: str,
        *,
        required: bool = True,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """An integer (JSON number or digit string) within bounds."""
        raw = self.data.get(name)
        if raw is None or raw == "":
            if required:
                self.errors[name] = _l("This field is required.")
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            self.errors[name] = _l("This field must be a whole number.")
            return None
        if isinstance(raw, str):
            if not re.fullmatch(r"-?\d{1,18}", raw.strip()):
                self.errors[name] = _l("This field must be a whole number.")
                return None
            raw = int(raw.strip())
        minimum = -DB_INT_MAX - 1 if minimum is None else minimum
        maximum = DB_INT_MAX if maximum is None else min(maximum, DB_INT_MAX)
        if not minimum <= raw <= maximum:
            self.errors[name] = _l("This number is out of range.")
            return None
        return raw

    def choice(self, name: str, options: tuple[str, ...], *, required: bool = True) -> str | None:
        """One of a fixed set of strings."""
        raw = self.data.get(name)
        if raw is None or raw == "":
            if required:
                self.errors[name] = _l("This field is required.")
            return None
        if not isinstance(raw, str) or raw not in options:
            self.errors[name] = _l("Choose one of the offered options.")
            return None
        return raw

    def flag(self, name: str) -> bool:
        """A checkbox or JSON boolean."""
        raw = self.data.get(name)
        if isinstance(raw, bool):
            return raw
        if raw is None:
            return False
        if isinstance(raw, str) and raw.lower() in {"1", "true", "on", "yes", "y"}:
            return True
        if isinstance(raw, str) and raw.lower() in {"", "0", "false", "off", "no", "n"}:
            return False
        self.errors[name] = _l("This field must be yes or no.")
        return False

    def check(self) -> None:
        """Raise one ValidationError naming every bad field."""
        if self.errors:
            raise ValidationError(fields=self.errors)
