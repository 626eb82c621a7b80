"""The locality registry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from massline.extensions import db

NATION_CODE = "000000"
LEVELS = ("nation", "province", "prefecture", "county")


class Locality(db.Model):
    """One division: its code, name, parent and 2020 census covariates."""

    __tablename__ = "localities"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("localities.code"), index=True
    )
    province_code: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(16))
    unit_type: Mapped[str | None] = mapped_column(String(40))
    is_standard: Mapped[bool] = mapped_column(default=True)
    population: Mapped[int | None] = mapped_column(BigInteger)
    covariates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_localities_name", "name"),)

    @property
    def prefix(self) -> str:
        """The leading code digits that every locality in this subtree shares."""
        return code_prefix(self.code, self.level)

    def contains(self, code: str) -> bool:
        """Whether the locality with `code` lies in this subtree."""
        return code.startswith(self.prefix)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent_code": self.parent_code,
            "population": self.population,
        }


def code_prefix(code: str, level: str) -> str:
    """Digits that identify a subtree: '' nation, 2 province, 4 prefecture, 6 county."""
    return code[: {"nation": 0, "province": 2, "prefecture": 4}.get(level, 6)]


def subtree_bounds(prefix: str) -> tuple[str, str]:
    """Inclusive code range of a subtree; a range keeps the btree index usable."""
    return prefix.ljust(6, "0"), prefix.ljust(6, "9")
