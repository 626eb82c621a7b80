"""Parsed input for priorities: one parser for the HTML form and the JSON body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from massline.parsing import Fields
from massline.priorities.models import RETIRE_REASONS

TITLE_MAX = 80
BODY_MAX = 6000
COMMENT_MAX = 1000


@dataclass(frozen=True)
class PriorityInput:
    """What an author writes."""

    title: str
    body: str
    locality_code: str
    category: str | None
    draft: bool
    process_id: int | None = None


@dataclass(frozen=True)
class RetireInput:
    """Why an author withdraws a priority."""

    reason: str
    explanation: str


@dataclass(frozen=True)
class CommentInput:
    """A comment or a reply."""

    body: str
    parent_id: int | None


def parse_priority(data: Mapping[str, Any]) -> PriorityInput:
    """Validate a new or edited priority."""
    fields = Fields(data)
    result = PriorityInput(
        title=fields.text("title", max_length=TITLE_MAX, min_length=4),
        body=fields.text("body", max_length=BODY_MAX, min_length=10, multiline=True),
        locality_code=fields.text("locality_code", max_length=6, min_length=6),
        category=fields.optional_text("category", max_length=40),
        draft=fields.flag("draft"),
        process_id=fields.integer("process_id", required=False, minimum=1),
    )
    fields.check()
    return result


def parse_retire(data: Mapping[str, Any]) -> RetireInput:
    """Validate a retirement."""
    fields = Fields(data)
    result = RetireInput(
        reason=fields.choice("reason", RETIRE_REASONS) or "",
        explanation=fields.text("explanation", max_length=1000, multiline=True),
    )
    fields.check()
    return result


def parse_comment(data: Mapping[str, Any]) -> CommentInput:
    """Validate a comment."""
    fields = Fields(data)
    result = CommentInput(
        body=fields.text("body", max_length=COMMENT_MAX, multiline=True),
        parent_id=fields.integer("parent_id", required=False, minimum=1),
    )
    fields.check()
    return result


@dataclass(frozen=True)
class ListArgs:
    """Validated query-string arguments of a priority list."""

    locality: str | None
    category: str | None
    status: str | None
    q: str | None
    sort: str
    page: int
    theme: int | None


def parse_list_args(
    args: Mapping[str, Any], *, sorts: tuple[str, ...], statuses: tuple[str, ...]
) -> ListArgs:
    """Validate ?locality=&category=&status=&q=&sort=&page=&theme=."""
    fields = Fields(args)
    result = ListArgs(
        locality=fields.optional_text("locality", max_length=6),
        category=fields.optional_text("category", max_length=40),
        status=fields.choice("status", statuses, required=False),
        q=fields.optional_text("q", max_length=100),
        sort=fields.choice("sort", sorts, required=False) or sorts[0],
        page=fields.integer("page", required=False, minimum=1, maximum=10_000) or 1,
        theme=fields.integer("theme", required=False, minimum=1),
    )
    fields.check()
    return result
