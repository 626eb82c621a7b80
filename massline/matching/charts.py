"""Geometry of the planner's trade-off chart over δ, and the axis helpers it is built from.

Pure computation on the plain dict that ``massline.matching.service.match`` returns. Only
numbers and positions come from here; the templates add every word (so they are translated)
and draw the SVG. The province tile map is in ``massline.matching.tilemap``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Mark",
    "Panel",
    "Tick",
    "TradeoffChart",
    "finite",
    "nice_ticks",
    "scale",
    "tradeoff_chart",
]

# One trade-off panel, in SVG user units; the page scales it to its width.
WIDTH, HEIGHT = 320, 170
LEFT, RIGHT, TOP, BOTTOM = 44, 308, 26, 132
INSET = 16  # keeps the outermost points off the axes
BREAK = 36  # room between the last finite δ and "no bound", where the axis is broken


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round ticks (steps of 1, 2, 2.5 or 5 × 10ⁿ) from at or below `low` to at or above `high`."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("tick bounds must be finite")
    low, high = min(low, high), max(low, high)
    if high - low < 1e-9 * max(1.0, abs(low), abs(high)):  # one value: widen the axis around it
        pad = max(abs(low) / 2, 0.5)
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    digits = max(0, 9 - math.floor(math.log10(step)))  # drops float noise like 0.30000000000000004
    return [round(i * step, digits) for i in range(first, last + 1)]


def scale(value: float, domain: tuple[float, float], pixels: tuple[float, float]) -> float:
    """`value` mapped linearly from `domain` onto `pixels`; one-value domains map to the middle."""
    (d0, d1), (p0, p1) = domain, pixels
    if d1 == d0:
        return round((p0 + p1) / 2, 1)
    return round(p0 + (value - d0) * (p1 - p0) / (d1 - d0), 1)


@dataclass(frozen=True)
class Tick:
    """An axis tick: its position and the number it stands for (None: no bound on δ)."""

    position: float
    value: float | None

    @property
    def label(self) -> str:
        """The number as printed on the axis (the template words a missing one)."""
        return "" if self.value is None else f"{self.value:g}"


@dataclass(frozen=True)
class Mark:
    """One δ on one panel. ``state``: value, infeasible (no portfolio) or missing (no number)."""

    delta: float | None
    x: float
    y: float
    value: float | None
    state: str
    status: str


@dataclass(frozen=True)
class Panel:
    """One metric against δ: its marks, the lines joining them, its y ticks and δ bounds."""

    metric: str
    marks: tuple[Mark, ...]
    lines: tuple[str, ...]
    y_ticks: tuple[Tick, ...]
    bounds: tuple[tuple[float, float, float], ...] = ()


@dataclass(frozen=True)
class TradeoffChart:
    """Both panels over one x axis; ``chosen_x`` marks the δ the portfolio was solved at."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: tuple[Tick, ...]
    break_x: float | None
    chosen_x: float | None
    chosen_delta: float | None
    panels: tuple[Panel, ...]
    infeasible_x: tuple[float, ...] = ()  # one label per run of neighbouring infeasible δs


def _bound(delta: Any) -> float:
    """δ as a number: no bound (None) is +∞, so it sorts and compares last."""
    return math.inf if delta is None else float(delta)


def _x_positions(deltas: list[float]) -> dict[float, float]:
    """x of every δ: finite ones on a linear scale, no bound in its own slot past a break."""
    bounded = sorted({d for d in deltas if math.isfinite(d)})
    lo, hi = LEFT + INSET, RIGHT - INSET
    positions: dict[float, float] = {}
    if math.inf in deltas:
        if not bounded:
            return {math.inf: scale(0, (0, 0), (lo, hi))}
        positions[math.inf] = hi
        hi -= BREAK * 2
    for d in bounded:
        positions[d] = scale(d, (bounded[0], bounded[-1]), (lo, hi))
    return positions


def finite(value: Any) -> float | None:
    """A finite float, or None for null, NaN and infinities."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _panel(metric: str, points: list[dict], xs: dict[float, float], floor: tuple) -> Panel:
    """Marks for one metric; `floor` is the (low, high) the y axis always covers."""
    values = [p["values"][metric] for p in points if p["values"][metric] is not None]
    # The bound δ is drawn (and kept on the axis) only where a portfolio meets it.
    finite_deltas = [
        p["delta"] for p in points if math.isfinite(p["delta"]) and p["status"] != "infeasible"
    ]
    low = min([floor[0], *values])
    high = max([floor[1], *values, *(finite_deltas if metric == "max_smd" else [])])
    ticks = nice_ticks(low, high, 4)
    domain, pixels = (ticks[0], ticks[-1]), (BOTTOM, TOP)
    marks = []
    for p in points:
        value = p["values"][metric]
        if p["status"] == "infeasible":
            state = "infeasible"
        else:
            state = "value" if value is not None else "missing"
        y = scale(value, domain, pixels) if state == "value" else BOTTOM
        marks.append(Mark(p["raw_delta"], xs[p["delta"]], y, value, state, p["status"]))
    # A line joins neighbouring values only: a δ without a portfolio breaks it.
    lines, run = [], []
    for mark in [*marks, None]:
        if mark is not None and mark.state == "value":
            run.append(f"{mark.x:g},{mark.y:g}")
            continue
        if len(run) > 1:
            lines.append(" ".join(run))
        run = []
    bounds = ()
    if metric == "max_smd":
        bounds = tuple(
            (xs[d] - 8, xs[d] + 8, scale(d, domain, pixels)) for d in sorted(set(finite_deltas))
        )
    y_ticks = tuple(Tick(scale(t, domain, pixels), t) for t in ticks)
    return Panel(metric, tuple(marks), tuple(lines), y_ticks, bounds)


def tradeoff_chart(result: Mapping[str, Any]) -> TradeoffChart | None:
    """Demand lift and max |SMD| against δ from a match result, or None without a curve."""
    curve = result.get("tradeoff") or []
    if not curve:
        return None
    points = sorted(
        (
            {
                "delta": _bound(point["delta"]),
                "raw_delta": point["delta"],
                "status": point.get("status") or "",
                "values": {
                    name: finite((point.get("metrics") or {}).get(name))
                    for name in ("demand_lift", "max_smd")
                },
            }
            for point in curve
        ),
        key=lambda p: p["delta"],
    )
    portfolio = result.get("portfolio_status") or {}
    solved = bool(portfolio) and portfolio.get("status") != "infeasible"
    chosen = _bound(portfolio.get("delta_used")) if solved else None
    deltas = [p["delta"] for p in points] + ([chosen] if chosen is not None else [])
    xs = _x_positions(deltas)
    has_break = math.inf in xs and len(xs) > 1
    runs: list[list[float]] = []
    for i, p in enumerate(points):
        if p["status"] != "infeasible":
            continue
        if i and points[i - 1]["status"] == "infeasible":
            runs[-1].append(xs[p["delta"]])
        else:
            runs.append([xs[p["delta"]]])
    return TradeoffChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        x_ticks=tuple(Tick(xs[p["delta"]], p["raw_delta"]) for p in points),
        break_x=xs[math.inf] - BREAK if has_break else None,
        chosen_x=xs[chosen] if chosen is not None else None,
        chosen_delta=None if chosen is None or chosen == math.inf else chosen,
        panels=(
            # Lift: 0 is the national average and 1 the plain top-k, so both always show.
            _panel("demand_lift", points, xs, (0.0, 1.0)),
            _panel("max_smd", points, xs, (0.0, 0.1)),
        ),
        infeasible_x=tuple(round((run[0] + run[-1]) / 2, 1) for run in runs),
    )
