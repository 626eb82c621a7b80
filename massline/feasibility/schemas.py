"""Parsed input for reports: one parser for the form and the JSON body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

from massline.feasibility.models import DECISIONS, FEASIBILITY, LEGALITY
from massline.parsing import Fields

TEXT_MAX = 6000
MAX_CNY = Decimal("1e13")


@dataclass(frozen=True)
class ReportInput:
    """What officials write; absent fields stay as they were."""

    values: dict[str, Any]


def _money(fields: Fields, name: str) -> Decimal | None:
    raw = fields.data.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        fields.errors[name] = _l("Enter an amount in yuan.")
        return None
    try:
        value = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        fields.errors[name] = _l("Enter an amount in yuan.")
        return None
    if not value.is_finite() or value < 0 or value >= MAX_CNY:
        fields.errors[name] = _l("This number is out of range.")
        return None
    return value.quantize(Decimal("0.01"))


def _breakdown(fields: Fields) -> list[dict[str, Any]] | None:
    raw = fields.data.get("cost_breakdown")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > 50:
        fields.errors["cost_breakdown"] = _l("Give up to 50 lines of item and amount.")
        return None
    lines = []
    for entry in raw:
        line = Fields(entry) if isinstance(entry, dict) else None
        if line is None:
            fields.errors["cost_breakdown"] = _l("Give up to 50 lines of item and amount.")
            return None
        item = line.text("item", max_length=200)
        amount = _money(line, "amount")
        if line.errors or amount is None:
            fields.errors["cost_breakdown"] = _l("Give up to 50 lines of item and amount.")
            return None
        lines.append({"item": item, "amount": str(amount)})
    return lines


def parse_report(data: Mapping[str, Any]) -> ReportInput:
    """Validate a (partial) report; only the fields present are returned."""
    fields = Fields(data)
    values: dict[str, Any] = {}
    texts = ("legal_basis", "feasibility_explanation", "decision_reasons")
    for name in texts:
        if name in data:
            values[name] = fields.optional_text(name, max_length=TEXT_MAX, multiline=True)
    if "department" in data:
        values["department"] = fields.optional_text("department", max_length=120)
    for name, options in (
        ("legality", LEGALITY),
        ("feasibility", FEASIBILITY),
        ("decision", DECISIONS),
    ):
        if name in data:
            values[name] = fields.choice(name, options, required=False)
    for name in ("cost_estimate", "cost_low", "cost_high"):
        if name in data:
            values[name] = _money(fields, name)
    if "duration_months" in data:
        values["duration_months"] = fields.integer(
            "duration_months", required=False, minimum=0, maximum=600
        )
    if "cost_breakdown" in data:
        values["cost_breakdown"] = _breakdown(fields) or []
    low, high = values.get("cost_low"), values.get("cost_high")
    if low is not None and high is not None and low > high:
        fields.errors["cost_high"] = _l("The high estimate must not be below the low one.")
    fields.check()
    return ReportInput(values)


def parse_note(data: Mapping[str, Any]) -> str:
    """A monitoring note's text."""
    fields = Fields(data)
    body = fields.text("body", max_length=2000, multiline=True)
    fields.check()
    return body


def parse_rating(data: Mapping[str, Any]) -> tuple[int, str | None]:
    """Stars 1–5 and an optional comment."""
    fields = Fields(data)
    stars = fields.integer("stars", minimum=1, maximum=5)
    comment = fields.optional_text("comment", max_length=1000, multiline=True)
    fields.check()
    return stars, comment


def parse_completion(data: Mapping[str, Any]) -> str:
    """What the implementing side reports as done."""
    fields = Fields(data)
    summary = fields.text("summary", max_length=6000, multiline=True)
    fields.check()
    return summary
