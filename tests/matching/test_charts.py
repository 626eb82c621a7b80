"""Chart and tile-map geometry on its own: scales, ticks and the degenerate cases."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massline.matching.charts import BOTTOM, LEFT, RIGHT, TOP, nice_ticks, scale, tradeoff_chart
from massline.matching.tilemap import NO_DATA, PALETTE, PROVINCE_TILES, province_map

DELTAS = (0.05, 0.1, 0.25, None)
bounds = st.floats(-5, 5, allow_nan=False)


def point(delta, lift=None, smd=None, status="optimal"):
    """One trade-off point in the shape `match()` returns."""
    if status == "infeasible":
        return {"delta": delta, "status": status, "metrics": None}
    return {"delta": delta, "status": status, "metrics": {"demand_lift": lift, "max_smd": smd}}


def result(curve, status="relaxed", used=0.25):
    """A match result with a trade-off curve and the portfolio's own δ."""
    return {"tradeoff": curve, "portfolio_status": {"status": status, "delta_used": used}}


def marks(chart, metric):
    panel = next(p for p in chart.panels if p.metric == metric)
    return {m.delta: m for m in panel.marks}, panel


# Ticks and scales


@given(bounds, bounds)
def test_ticks_cover_the_values_in_round_even_steps(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= min(low, high) + 1e-9 and ticks[-1] >= max(low, high) - 1e-9
    steps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert steps and all(math.isclose(s, steps[0], rel_tol=1e-6) for s in steps)
    assert len(ticks) <= 10
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))


@given(bounds)
def test_one_value_sits_inside_its_axis(value):
    ticks = nice_ticks(value, value)
    assert ticks[0] < value < ticks[-1]


def test_ticks_refuse_infinite_bounds():
    with pytest.raises(ValueError):
        nice_ticks(0.0, math.inf)


@given(bounds, bounds, bounds)
def test_scale_is_linear_and_pins_the_ends(a, b, value):
    if a == b:
        assert scale(value, (a, b), (10, 90)) == 50
        return
    assert scale(a, (a, b), (10, 90)) == 10 and scale(b, (a, b), (10, 90)) == 90
    lo, hi = sorted((a, b))
    if lo <= value <= hi:
        assert 10 - 0.1 <= scale(value, (a, b), (10, 90)) <= 90 + 0.1


# The trade-off chart


def test_no_curve_no_chart():
    assert tradeoff_chart({"portfolio_status": {"status": "optimal"}}) is None
    assert tradeoff_chart(result([])) is None


def test_the_four_deltas_in_order_with_no_bound_past_a_break():
    chart = tradeoff_chart(
        result([point(d, 0.5 + i / 10, 0.05 * (i + 1)) for i, d in enumerate(DELTAS)])
    )
    xs = [t.position for t in chart.x_ticks]
    assert xs == sorted(xs) and xs[0] > LEFT and xs[-1] < RIGHT
    assert [t.label for t in chart.x_ticks] == ["0.05", "0.1", "0.25", ""]
    assert xs[2] < chart.break_x < xs[3]
    # Finite δ on a linear scale: 0.1 lies a quarter of the way from 0.05 to 0.25.
    assert math.isclose(xs[1] - xs[0], (xs[2] - xs[0]) / 4, abs_tol=0.2)
    assert chart.chosen_x == xs[2] and chart.chosen_delta == 0.25


def test_infeasible_deltas_sit_on_the_baseline_and_break_the_line():
    curve = [
        point(0.05, status="infeasible"),
        point(0.1, 0.6, 0.09),
        point(0.25, status="infeasible"),
        point(None, 0.9, 0.4),
    ]
    chart = tradeoff_chart(result(curve, status="relaxed", used=0.1))
    for metric in ("demand_lift", "max_smd"):
        found, panel = marks(chart, metric)
        assert found[0.05].state == found[0.25].state == "infeasible"
        assert found[0.05].y == BOTTOM
        assert panel.lines == ()  # no two feasible δs are neighbours
    assert len(chart.infeasible_x) == 2
    smd = marks(chart, "max_smd")[1]
    assert [x1 < found[0.1].x < x2 for x1, x2, _y in smd.bounds] == [True]  # feasible δs only


def test_neighbouring_infeasible_deltas_share_one_label():
    curve = [point(0.05, status="infeasible"), point(0.1, status="infeasible")]
    chart = tradeoff_chart(result([*curve, point(None, 1.0, 0.9)], used=None))
    a, b = (t.position for t in chart.x_ticks[:2])
    assert chart.infeasible_x == (round((a + b) / 2, 1),)
    assert chart.chosen_x == chart.x_ticks[-1].position and chart.chosen_delta is None


def test_a_relaxed_delta_off_the_curve_is_marked_where_it_lies():
    chart = tradeoff_chart(
        result([point(d, 0.5, 0.1) for d in DELTAS], status="relaxed", used=0.15)
    )
    x = {t.value: t.position for t in chart.x_ticks}
    assert x[0.1] < chart.chosen_x < x[0.25]


def test_no_portfolio_no_chosen_mark():
    curve = [point(d, status="infeasible") for d in DELTAS]
    chart = tradeoff_chart(result(curve, status="infeasible", used=None))
    assert chart.chosen_x is None and len(chart.infeasible_x) == 1
    assert all(p.lines == () for p in chart.panels)


def test_one_point_stands_in_the_middle():
    chart = tradeoff_chart(result([point(None, 0.3, 0.2)], status="optimal", used=None))
    (tick,) = chart.x_ticks
    assert tick.position == (LEFT + 16 + RIGHT - 16) / 2 and chart.break_x is None
    found, _ = marks(chart, "demand_lift")
    assert TOP <= found[None].y <= BOTTOM


def test_equal_values_draw_a_flat_line_inside_the_plot():
    chart = tradeoff_chart(result([point(d, 0.0, 0.0) for d in DELTAS], used=0.05))
    for metric in ("demand_lift", "max_smd"):
        found, panel = marks(chart, metric)
        assert len({m.y for m in found.values()}) == 1 and len(panel.lines) == 1
        assert all(m.y == BOTTOM for m in found.values())  # 0 is the axis floor for both


def test_a_missing_number_is_not_drawn_as_zero():
    chart = tradeoff_chart(result([point(d, None, 0.0) for d in DELTAS], used=0.05))
    found, panel = marks(chart, "demand_lift")
    assert {m.state for m in found.values()} == {"missing"} and panel.lines == ()


def test_lift_axis_spans_average_to_top_k_and_smd_axis_holds_every_bound():
    chart = tradeoff_chart(result([point(d, -0.2, 0.01) for d in DELTAS], used=0.05))
    lift = [t.value for t in marks(chart, "demand_lift")[1].y_ticks]
    smd = marks(chart, "max_smd")[1]
    assert lift[0] <= -0.2 and lift[-1] >= 1 and 0 in lift
    assert smd.y_ticks[-1].value >= 0.25 and len(smd.bounds) == 3
    assert all(TOP <= y <= BOTTOM for _x1, _x2, y in smd.bounds)


curves = st.lists(
    st.tuples(
        st.sampled_from(DELTAS),
        st.sampled_from(["optimal", "time_limit", "infeasible"]),
        st.one_of(st.none(), st.floats(-1, 2)),
        st.one_of(st.none(), st.floats(0, 3)),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda t: t[0],
)


@given(curves, st.sampled_from([*DELTAS, 0.15, 0.01]))
def test_every_curve_stays_inside_its_panel(raw, used):
    curve = [point(d, lift, smd, status) for d, status, lift, smd in raw]
    chart = tradeoff_chart(result(curve, used=used))
    xs = [t.position for t in chart.x_ticks]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert LEFT <= chart.chosen_x <= RIGHT
    for panel in chart.panels:
        assert all(LEFT <= m.x <= RIGHT and TOP <= m.y <= BOTTOM for m in panel.marks)
        assert all(m.state == "infeasible" for m in panel.marks if m.status == "infeasible")
        # Lines join runs of two or more neighbouring values, and nothing else.
        runs = "".join("v" if m.state == "value" else " " for m in panel.marks).split()
        assert [len(line.split()) for line in panel.lines] == [len(r) for r in runs if len(r) > 1]


# The province tile map


def test_the_layout_has_every_province_once(data_dir: Path):
    with (data_dir / "localities" / "provinces.csv").open(encoding="utf-8") as handle:
        provinces = {row["province_code"]: row["name"] for row in csv.DictReader(handle)}
    assert set(PROVINCE_TILES) == set(provinces)
    places = [(row, column) for row, column, _name in PROVINCE_TILES.values()]
    assert len(set(places)) == len(places) == 31
    for code, (_row, _column, short) in PROVINCE_TILES.items():
        assert provinces[code].startswith(short)


def test_no_data_leaves_every_tile_grey():
    found = province_map([], [])
    assert len(found.tiles) == 31 and found.classes == () and found.listed == []
    assert {t.fill for t in found.tiles} == {NO_DATA} and len(found.unlisted) == 31
    assert all(0 <= t.x < found.width and 0 <= t.y < found.height for t in found.tiles)


def test_colour_follows_the_best_score_and_numbers_count_sites():
    ranking = [
        {"code": "430102", "name": "芙蓉区", "score": 0.4},
        {"code": "430103", "name": "天心区", "score": 0.1},
        {"code": "110101", "name": "东城区", "score": 0.2},
        {"code": "310101", "name": "黄浦区", "score": None},
    ]
    portfolio = [{"code": "430102"}, {"code": "430103"}, {"code": "650102"}]
    tiles = {t.code: t for t in province_map(ranking, portfolio).tiles}
    hunan, beijing, shanghai, xinjiang = tiles["43"], tiles["11"], tiles["31"], tiles["65"]
    assert (hunan.ranked, hunan.best, hunan.best_place, hunan.sites) == (2, 0.4, "芙蓉区", 2)
    assert hunan.fill == PALETTE[-1] and beijing.fill == PALETTE[2]  # half the best: middle
    assert shanghai.ranked == 1 and shanghai.best is None and shanghai.fill == NO_DATA
    # A site beyond the shown ranking still counts, though its province has no colour.
    assert xinjiang.sites == 1 and xinjiang.has_data and xinjiang.shade is None
    listed = [t.code for t in province_map(ranking, portfolio).listed]
    assert listed == ["43", "11", "31", "65"]


def test_equal_or_zero_scores_share_one_class():
    same = province_map([{"code": c, "score": 0.3} for c in ("110101", "430102")], [])
    assert {t.fill for t in same.tiles if t.has_data} == {PALETTE[-1]}
    zero = province_map([{"code": c, "score": 0.0} for c in ("110101", "430102")], [])
    assert zero.classes == ((0.0, 0.0, PALETTE[0]),)
    assert {t.fill for t in zero.tiles if t.has_data} == {PALETTE[0]}


@given(st.lists(st.tuples(st.sampled_from(sorted(PROVINCE_TILES)), st.floats(0, 1)), max_size=40))
def test_classes_rise_with_the_score(rows):
    ranking = [{"code": code + "0101", "score": score} for code, score in rows]
    tiles = [t for t in province_map(ranking, []).tiles if t.best is not None]
    ordered = sorted(tiles, key=lambda t: t.best)
    shades = [t.shade for t in ordered]
    assert shades == sorted(shades)
    if tiles and ordered[-1].best > 0:
        assert shades[-1] == len(PALETTE) - 1
