"""Parsed input for accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from massline.parsing import Fields

NAME_MAX = 40
PASSWORD_MIN = 8
PASSWORD_MAX = 128


@dataclass(frozen=True)
class Registration:
    """A new account's details."""

    phone: str
    display_name: str
    password: str
    locality_code: str


@dataclass(frozen=True)
class Credentials:
    """Phone and password."""

    phone: str
    password: str


@dataclass(frozen=True)
class CodeCheck:
    """A phone number and the code sent to it."""

    phone: str
    code: str


def parse_registration(data: Mapping[str, Any]) -> Registration:
    """Validate a registration."""
    fields = Fields(data)
    result = Registration(
        phone=fields.text("phone", max_length=20),
        display_name=fields.text("display_name", max_length=NAME_MAX, min_length=2),
        password=fields.text("password", max_length=PASSWORD_MAX, min_length=PASSWORD_MIN),
        locality_code=fields.text("locality_code", max_length=6, min_length=6),
    )
    fields.check()
    return result


def parse_credentials(data: Mapping[str, Any]) -> Credentials:
    """Validate a sign-in."""
    fields = Fields(data)
    result = Credentials(
        phone=fields.text("phone", max_length=20),
        password=fields.text("password", max_length=PASSWORD_MAX),
    )
    fields.check()
    return result


def parse_code_check(data: Mapping[str, Any]) -> CodeCheck:
    """Validate a verification code."""
    fields = Fields(data)
    result = CodeCheck(
        phone=fields.text("phone", max_length=20),
        code=fields.text("code", max_length=6, min_length=6),
    )
    fields.check()
    return result
