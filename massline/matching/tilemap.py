"""Geometry of the planner's map-like view: one tile per provincial unit on a fixed grid.

Pure computation on the ranking and portfolio rows of a match result; the template draws the
SVG and words the legend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from massline.matching.charts import finite

__all__ = ["NO_DATA", "PALETTE", "PROVINCE_TILES", "ProvinceMap", "Tile", "province_map"]

# Provincial units on a 7-column × 8-row tile grid: code → (row, column, short name).
# Made by hand for massline: each unit sits where its capital lies (longitude → column,
# latitude → row), nudged so no two share a tile while neighbours still touch where they can
# (京津冀, 苏沪浙, 川渝黔, the north-east in one column) and the coast stays on the east.
PROVINCE_TILES: dict[str, tuple[int, int, str]] = {
    "23": (0, 6, "黑龙江"),
    "15": (1, 3, "内蒙古"),
    "11": (1, 5, "北京"),
    "22": (1, 6, "吉林"),
    "65": (2, 0, "新疆"),
    "62": (2, 1, "甘肃"),
    "64": (2, 2, "宁夏"),
    "14": (2, 3, "山西"),
    "13": (2, 4, "河北"),
    "12": (2, 5, "天津"),
    "21": (2, 6, "辽宁"),
    "63": (3, 0, "青海"),
    "61": (3, 2, "陕西"),
    "41": (3, 3, "河南"),
    "37": (3, 4, "山东"),
    "54": (4, 0, "西藏"),
    "51": (4, 1, "四川"),
    "50": (4, 2, "重庆"),
    "42": (4, 3, "湖北"),
    "34": (4, 4, "安徽"),
    "32": (4, 5, "江苏"),
    "31": (4, 6, "上海"),
    "53": (5, 1, "云南"),
    "52": (5, 2, "贵州"),
    "43": (5, 3, "湖南"),
    "36": (5, 4, "江西"),
    "33": (5, 5, "浙江"),
    "45": (6, 2, "广西"),
    "44": (6, 3, "广东"),
    "35": (6, 4, "福建"),
    "46": (7, 3, "海南"),
}
TILE, TILE_GAP = 50, 4
# ColorBrewer OrRd, 5 classes (sequential, readable in grey); white ink on the two darkest.
PALETTE = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
INK = ("#1a1a1a", "#1a1a1a", "#1a1a1a", "#fff", "#fff")
NO_DATA = "#f2f2f2"


@dataclass(frozen=True)
class Tile:
    """One province: where its tile goes, the demand found there and the sites chosen there."""

    code: str
    name: str
    x: float
    y: float
    size: float
    ranked: int
    best: float | None
    best_place: str | None
    sites: int
    shade: int | None

    @property
    def fill(self) -> str:
        """Tile colour: its demand class, or the no-data grey."""
        return NO_DATA if self.shade is None else PALETTE[self.shade]

    @property
    def ink(self) -> str:
        """Text colour readable on the fill."""
        return INK[0] if self.shade is None else INK[self.shade]

    @property
    def has_data(self) -> bool:
        """Whether this run ranked or chose any place in the province."""
        return self.ranked > 0 or self.sites > 0


@dataclass(frozen=True)
class ProvinceMap:
    """All 31 tiles, and the score range of each colour class for the legend."""

    width: int
    height: int
    tiles: tuple[Tile, ...]
    classes: tuple[tuple[float, float, str], ...]

    @property
    def listed(self) -> list[Tile]:
        """Provinces with data, highest score first: the map's text alternative."""
        found = [t for t in self.tiles if t.has_data]
        return sorted(found, key=lambda t: (t.best is None, -(t.best or 0.0), t.code))

    @property
    def unlisted(self) -> list[Tile]:
        """Provinces where this run ranked and chose nothing."""
        return [t for t in self.tiles if not t.has_data]


def _shade(score: float, top: float, classes: int) -> int:
    """The colour class of a score: its share of the best score, in `classes` equal steps."""
    return max(0, min(classes - 1, int(classes * score / top)))


def province_map(
    ranking: Sequence[Mapping[str, Any]], portfolio: Sequence[Mapping[str, Any]]
) -> ProvinceMap:
    """Tiles coloured by the best score among each province's ranked places, with site counts."""
    ranked: dict[str, int] = {}
    best: dict[str, tuple[float, str]] = {}
    for row in ranking:
        province = str(row["code"])[:2]
        ranked[province] = ranked.get(province, 0) + 1
        score = finite(row.get("score"))
        if score is not None and (province not in best or score > best[province][0]):
            best[province] = (score, str(row.get("name") or row["code"]))
    sites: dict[str, int] = {}
    for row in portfolio:
        sites[str(row["code"])[:2]] = sites.get(str(row["code"])[:2], 0) + 1
    # Classes are fifths of this run's best score: the darkest tile is always where demand peaks.
    top = max((score for score, _ in best.values()), default=None)
    classes = len(PALETTE) if top else 1
    tiles = []
    for code, (row, column, name) in sorted(PROVINCE_TILES.items()):
        score, place = best.get(code, (None, None))
        shade = None if score is None else _shade(score, top or 1.0, classes)
        tiles.append(
            Tile(
                code=code,
                name=name,
                x=column * TILE + TILE_GAP / 2,
                y=row * TILE + TILE_GAP / 2,
                size=TILE - TILE_GAP,
                ranked=ranked.get(code, 0),
                best=score,
                best_place=place,
                sites=sites.get(code, 0),
                shade=shade,
            )
        )
    legend = tuple(
        (top * i / classes, top * (i + 1) / classes, PALETTE[i]) for i in range(classes)
    ) if top is not None else ()  # fmt: skip
    columns = 1 + max(c for _, c, _ in PROVINCE_TILES.values())
    rows = 1 + max(r for r, _, _ in PROVINCE_TILES.values())
    return ProvinceMap(columns * TILE, rows * TILE, tuple(tiles), legend)
