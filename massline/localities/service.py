"""Loading and querying the locality registry."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from massline.errors import NotFound
from massline.localities.models import NATION_CODE, Locality, subtree_bounds

COVARIATES = (
    "urbanisation_rate",
    "share_0_14",
    "share_65plus",
    "sex_ratio",
    "minority_share",
    "college_per_100k",
    "avg_years_schooling_yb",
    "avg_household_size",
    "agri_employment_share",
    "manuf_employment_share",
    "car_ownership_share",
    "housing_m2_per_capita",
    "hukou_elsewhere_share",
    "interprov_migrant_share",
)
NATION_NAME = "中华人民共和国"


def _number(raw: str | None) -> float | None:
    """A CSV cell as a float, or None for blanks and NA."""
    if raw is None or raw.strip() in {"", "NA", "nan"}:
        return None
    value = float(raw)
    return None if math.isnan(value) else value


def _covariates(row: dict[str, str]) -> dict[str, float]:
    """The census covariates present in one row."""
    found = {name: _number(row.get(name)) for name in COVARIATES}
    return {name: value for name, value in found.items() if value is not None}


def _population(row: dict[str, str]) -> int | None:
    value = _number(row.get("pop_2020"))
    return None if value is None else int(value)


def read_registry(localities_dir: Path) -> Iterator[dict[str, Any]]:
    """Rows of the registry, parents before children, as Locality field dicts."""
    with open(localities_dir / "provinces.csv", encoding="utf-8", newline="") as handle:
        provinces = list(csv.DictReader(handle))
    yield {
        "code": NATION_CODE,
        "name": NATION_NAME,
        "level": "nation",
        "parent_code": None,
        "province_code": "00",
        "region": None,
        "unit_type": "nation",
        "is_standard": True,
        "population": sum(_population(row) or 0 for row in provinces),
        "covariates": {},
    }
    for row in provinces:
        yield {
            "code": row["adcode"],
            "name": row["name"],
            "level": "province",
            "parent_code": NATION_CODE,
            "province_code": row["province_code"],
            "region": row["region4"],
            "unit_type": "province",
            "is_standard": True,
            "population": _population(row),
            "covariates": _covariates(row),
        }
    prefecture_codes: set[str] = set()
    with open(localities_dir / "prefectures.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            prefecture_codes.add(row["adcode"])
            yield {
                "code": row["adcode"],
                "name": row["name"],
                "level": "prefecture",
                "parent_code": row["province_code"] + "0000",
                "province_code": row["province_code"],
                "region": row["region4"],
                "unit_type": row["unit_type"],
                "is_standard": True,
                "population": _population(row),
                "covariates": _covariates(row),
            }
    with open(localities_dir / "counties.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            # The NBS list repeats 东莞, 中山 and 儋州 as pseudo-counties under the
            # prefecture's own code; the prefecture row already stands for them.
            if row["county_code"] in prefecture_codes:
                continue
            yield {
                "code": row["county_code"],
                "name": row["name"],
                "level": "county",
                "parent_code": row["prefecture_code"] + "00",
                "province_code": row["province_code"],
                "region": row["region4"],
                "unit_type": row["unit_type"],
                "is_standard": row["is_standard_county_level_division"] == "1",
                "population": _population(row),
                "covariates": _covariates(row),
            }


def load_registry(session: Session, localities_dir: Path) -> tuple[int, int]:
    """Insert or update every locality; returns (inserted, updated). Idempotent."""
    existing = {loc.code: loc for loc in session.scalars(select(Locality))}
    inserted = updated = 0
    current_level = None
    for fields in read_registry(localities_dir):
        if fields["level"] != current_level:
            session.flush()  # parents must exist before their children
            current_level = fields["level"]
        found = existing.get(fields["code"])
        if found is None:
            session.add(Locality(**fields))
            inserted += 1
            continue
        changed = False
        for name, value in fields.items():
            if getattr(found, name) != value:
                setattr(found, name, value)
                changed = True
        updated += changed
    session.flush()
    return inserted, updated


def get_locality(session: Session, code: str) -> Locality:
    """The locality with this code, or NotFound."""
    locality = session.get(Locality, code) if isinstance(code, str) else None
    if locality is None:
        raise NotFound(fields={"locality_code": _l("No such locality.")})
    return locality


def children(session: Session, code: str) -> list[Locality]:
    """Direct children of a locality, by code."""
    get_locality(session, code)
    return list(
        session.scalars(
            select(Locality).where(Locality.parent_code == code).order_by(Locality.code)
        )
    )


def ancestors(session: Session, locality: Locality) -> list[Locality]:
    """The chain from the nation down to this locality's parent."""
    chain: list[Locality] = []
    current = locality
    while current.parent_code is not None:
        current = session.get(Locality, current.parent_code)
        if current is None:
            break
        chain.append(current)
    return list(reversed(chain))


def search(session: Session, text: str, limit: int = 20) -> list[Locality]:
    """Localities whose name contains the text or whose code starts with it."""
    # Control characters can match nothing, and PostgreSQL refuses NUL outright.
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    if not text:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    query = (
        select(Locality)
        .where(
            or_(
                Locality.name.like(pattern, escape="\\"),
                # autoescape: without it '%' and '_' in the query act as wildcards
                Locality.code.startswith(text, autoescape=True),
            )
        )
        .order_by(func.length(Locality.name), Locality.code)
        .limit(limit)
    )
    return list(session.scalars(query))


def in_subtree(column, locality: Locality):  # noqa: ANN001, ANN201
    """A SQL condition: `column` (a locality code) lies in this locality's subtree."""
    low, high = subtree_bounds(locality.prefix)
    return column.between(low, high)
