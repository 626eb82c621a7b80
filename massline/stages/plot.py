"""Geometry of the opinion-group scatter plot, drawn as inline SVG on the server.

Pure computation: no Flask, no SQLAlchemy. Positions come from the opinion engine's
2-D embedding; here they are sampled, scaled into a fixed view box and grouped by colour.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

__all__ = ["PALETTE", "UNGROUPED", "Label", "Plot", "Series", "colour", "sample", "scatter"]

# Okabe-Ito colours: told apart by people with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
UNGROUPED = "#8C8C8C"
# (participant, x, y, group); group -1 is someone the engine could not place in a group.
Point = tuple[Hashable, float, float, int]


def colour(group: int) -> str:
    """The colour of a group (grey for the unplaced)."""
    return UNGROUPED if group < 0 else PALETTE[group % len(PALETTE)]


@dataclass(frozen=True)
class Series:
    """The dots of one group, in view-box coordinates."""

    group: int
    colour: str
    points: tuple[tuple[float, float], ...]

    @property
    def path_data(self) -> str:
        """An SVG path of zero-length segments: with round caps each is a dot, a few bytes each."""
        return "".join(f"M{x:g} {y:g}h0" for x, y in self.points)


@dataclass(frozen=True)
class Label:
    """Where a group's name goes: its centre, kept inside the view box."""

    group: int
    colour: str
    x: float
    y: float
    anchor: str  # SVG text-anchor: "start" near the left edge, "end" near the right, else "middle"


@dataclass(frozen=True)
class Plot:
    """Everything the template needs to draw the scatter plot."""

    width: int
    height: int
    series: tuple[Series, ...]
    labels: tuple[Label, ...]
    viewer: tuple[float, float] | None  # the viewer's own point, if they voted
    total: int  # participants with a position
    shown: int  # dots drawn after sampling


def _rank(participant: Hashable) -> int:
    # A stable hash (Python's str hash changes per process): the same people are drawn on
    # every view and every worker, and someone sampled stays sampled as others join.
    return zlib.crc32(repr(participant).encode("utf-8"))


def sample(points: Sequence[Point], limit: int) -> list[Point]:
    """At most `limit` points, deterministic; each group keeps its share and at least one dot."""
    if len(points) <= limit:
        return list(points)
    if limit <= 0:
        return []
    by_group: dict[int, list[Point]] = {}
    for point in points:
        by_group.setdefault(point[3], []).append(point)
    groups = sorted(by_group, key=lambda g: (-len(by_group[g]), g))
    # Largest remainder with a floor of one, so a small group never disappears from the plot.
    exact = {g: limit * len(by_group[g]) / len(points) for g in groups}
    quota = {g: max(1, math.floor(exact[g])) for g in groups}
    while sum(quota.values()) > limit:  # only when there are more groups than dots to give
        largest = max((g for g in groups if quota[g] > 0), key=lambda g: (quota[g], g))
        quota[largest] -= 1
    spare = limit - sum(quota.values())
    for g in sorted(groups, key=lambda g: (quota[g] - exact[g], g)):
        if spare <= 0:
            break
        if quota[g] < len(by_group[g]):
            quota[g] += 1
            spare -= 1
    chosen: list[Point] = []
    for g in groups:
        members = sorted(by_group[g], key=lambda p: (_rank(p[0]), repr(p[0])))
        chosen.extend(members[: quota[g]])
    return chosen


def _finite(points: Iterable[Point]) -> list[Point]:
    return [p for p in points if math.isfinite(p[1]) and math.isfinite(p[2])]


def scatter(
    points: Iterable[Point],
    centres: Sequence[tuple[float, float]] = (),
    *,
    viewer: Hashable | None = None,
    width: int = 320,
    height: int = 240,
    margin: int = 14,
    limit: int = 500,
) -> Plot:
    """Sample and scale positions into a `width` × `height` view box, same scale on both axes.

    Zero, one or identical points land in the middle; non-finite positions are left out.
    `centres[g]` is group g's centre in the same coordinates as the points.
    """
    placed = _finite(points)
    good_centres = [(g, c) for g, c in enumerate(centres) if all(map(math.isfinite, c))]
    xs = [p[1] for p in placed] + [c[0] for _, c in good_centres]
    ys = [p[2] for p in placed] + [c[1] for _, c in good_centres]
    transform = _transform(xs, ys, width, height, margin)

    def to_view(x: float, y: float) -> tuple[float, float]:
        vx, vy = transform(x, y)
        # Rounded to a tenth: finer is invisible and costs page weight; clamped after rounding.
        return (
            min(max(round(vx, 1), margin), width - margin),
            min(max(round(vy, 1), margin), height - margin),
        )

    mine = next((p for p in placed if viewer is not None and p[0] == viewer), None)
    others = [p for p in placed if p is not mine]
    drawn = sample(others, limit - 1 if mine is not None else limit)
    grouped: dict[int, list[tuple[float, float]]] = {}
    for _participant, x, y, group in drawn:
        grouped.setdefault(group, []).append(to_view(x, y))
    series = tuple(
        Series(group=g, colour=colour(g), points=tuple(grouped[g])) for g in sorted(grouped)
    )
    labels = tuple(_label(g, *to_view(*c), width, margin) for g, c in good_centres)
    return Plot(
        width=width,
        height=height,
        series=series,
        labels=labels,
        viewer=to_view(mine[1], mine[2]) if mine is not None else None,
        total=len(placed),
        shown=len(drawn) + (mine is not None),
    )


# The label's baseline sits this far above the group's centre, so the name does not hide
# the dots packed at the centre.
LABEL_RISE = 8


def _label(group: int, x: float, y: float, width: int, margin: int) -> Label:
    # Text running from its point away from the nearer edge never leaves the view box.
    anchor = "start" if x < width / 3 else ("end" if x > 2 * width / 3 else "middle")
    baseline = max(y - LABEL_RISE, margin)
    return Label(group=group, colour=colour(group), x=x, y=baseline, anchor=anchor)


def _transform(
    xs: Sequence[float], ys: Sequence[float], width: int, height: int, margin: int
) -> Callable[[float, float], tuple[float, float]]:
    """Map data coordinates into the view box: centred, one scale for both axes, y upwards."""
    centre = (width / 2, height / 2)
    if not xs:
        return lambda x, y: centre
    low_x, high_x, low_y, high_y = min(xs), max(xs), min(ys), max(ys)
    # Halves first: (a + b) / 2 overflows for values near the float maximum.
    mid_x, mid_y = low_x / 2 + high_x / 2, low_y / 2 + high_y / 2
    span_x, span_y = high_x - low_x, high_y - low_y
    if not (math.isfinite(span_x) and math.isfinite(span_y)):
        return lambda x, y: centre  # spans past the float range: nothing sensible to scale
    fits = [
        size / span
        for size, span in ((width - 2 * margin, span_x), (height - 2 * margin, span_y))
        if span > 0
    ]
    scale = min(fits, default=0.0)
    if scale == 0.0 or not math.isfinite(scale):
        return lambda x, y: centre  # one place only (or spread below float resolution)
    return lambda x, y: (centre[0] + (x - mid_x) * scale, centre[1] - (y - mid_y) * scale)
