"""Scatter-plot geometry: sampling, scaling into the view box, degenerate inputs (no app)."""

from __future__ import annotations

import ast
import math
import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from massline.stages import plot
from massline.stages.plot import PALETTE, UNGROUPED, sample, scatter

finite = st.floats(allow_nan=False, allow_infinity=False)
points_strategy = st.lists(
    st.tuples(st.integers(0, 10**6), finite, finite, st.integers(-1, 4)),
    max_size=60,
    unique_by=lambda p: p[0],
)


def dots(result: plot.Plot) -> list[tuple[float, float]]:
    return [xy for series in result.series for xy in series.points]


def inside(result: plot.Plot, x: float, y: float, margin: int = 14) -> bool:
    return margin <= x <= result.width - margin and margin <= y <= result.height - margin


def test_plot_is_pure():
    tree = ast.parse(Path(plot.__file__).read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    assert not [n for n in names if n.startswith(("flask", "sqlalchemy", "massline"))]


@given(points_strategy, st.integers(0, 80))
def test_every_dot_is_inside_the_view_box_and_the_limit_holds(points, limit):
    result = scatter(points, [(p[1], p[2]) for p in points[:3]], limit=limit)
    assert all(inside(result, x, y) for x, y in dots(result))
    assert all(inside(result, label.x, label.y) for label in result.labels)
    assert result.total == len(points)
    assert result.shown == len(dots(result)) == min(len(points), limit)


@given(points_strategy)
def test_the_same_points_in_any_order_give_the_same_plot(points):
    shuffled = list(points)
    random.Random(0).shuffle(shuffled)
    first, second = scatter(points, limit=20), scatter(shuffled, limit=20)
    assert {s.group: set(s.points) for s in first.series} == {
        s.group: set(s.points) for s in second.series
    }


@given(points_strategy, st.integers(1, 30))
def test_sampling_keeps_every_group_while_there_is_room(points, limit):
    chosen = sample(points, limit)
    assert len(chosen) == min(len(points), limit)
    assert set(chosen) <= set(points)
    groups = {p[3] for p in points}
    if len(groups) <= limit:
        assert {p[3] for p in chosen} == groups


def test_sampling_keeps_each_groups_share_and_is_stable():
    points = [(i, float(i), 0.0, 0 if i < 900 else 1) for i in range(1000)]
    chosen = sample(points, 100)
    assert sum(1 for p in chosen if p[3] == 1) == 10
    assert chosen == sample(list(reversed(points)), 100)
    # Someone drawn stays drawn when more people join their group.
    grown = sample([*points, *((i, 0.0, 0.0, 0) for i in range(1000, 1100))], 110)
    assert len({p[0] for p in chosen} & {p[0] for p in grown}) > 80


def test_no_one_and_identical_points_land_in_the_middle():
    empty = scatter([])
    assert (empty.series, empty.viewer, empty.total, empty.shown) == ((), None, 0, 0)
    single = scatter([("a", 3.5, -2.0, 0)], [(3.5, -2.0)], viewer="a")
    assert single.viewer == (160, 120) and single.series == () and single.shown == 1
    assert (single.labels[0].x, single.labels[0].y) == (160, 120 - plot.LABEL_RISE)
    same = scatter([(i, 1e-9, 1e-9, i % 2) for i in range(5)])
    assert set(dots(same)) == {(160, 120)}


def test_one_scale_for_both_axes_with_y_upwards():
    result = scatter([(1, -1.0, 0.0, 0), (2, 1.0, 0.0, 0), (3, 0.0, 0.5, 1)])
    left, right = sorted(result.series[0].points)
    (top,) = result.series[1].points
    # x spans the width between the margins: 146 units of view per unit of data...
    assert (left, right) == ((14, 156.5), (306, 156.5))
    # ...and y the same 146 per unit, upwards, the whole centred in the view box.
    assert top == (160, 156.5 - 0.5 * 146) and (156.5 + top[1]) / 2 == 120
    assert result.series[0].colour == PALETTE[0] and result.series[1].colour == PALETTE[1]


def test_unplaced_people_are_grey_and_non_finite_positions_are_left_out():
    result = scatter([(1, 0.0, 0.0, -1), (2, math.nan, 1.0, 0), (3, math.inf, 0.0, 0)])
    assert [s.colour for s in result.series] == [UNGROUPED] and result.total == 1


def test_the_viewer_is_always_drawn_even_when_sampled_out():
    points = [(i, float(i % 37), float(i % 11), i % 3) for i in range(2000)]
    for viewer in (0, 777, 1999):
        result = scatter(points, viewer=viewer, limit=500)
        assert result.viewer is not None and result.shown == 500 and len(dots(result)) == 499
    # 777 sits at (0, 7) in data running 0..36 by 0..10: the left edge, a little above the middle.
    assert scatter(points, viewer=777).viewer == (14, round(120 - 2 * 292 / 36, 1))
    assert scatter(points, viewer="nobody").viewer is None


def test_huge_coordinates_do_not_overflow():
    result = scatter([(1, -1.7e308, 1.7e308, 0), (2, 1.7e308, -1.7e308, 1)])
    assert all(inside(result, x, y) for x, y in dots(result))


def test_dots_are_short_path_data_and_labels_stay_readable():
    result = scatter([(1, 0.0, 0.0, 0), (2, 10.0, 5.0, 0)], [(0.0, 0.0), (10.0, 5.0)])
    assert result.series[0].path_data == "M14 193h0M306 47h0"
    assert [label.anchor for label in result.labels] == ["start", "end"]
