"""Inline SVG charts: axis arithmetic (property-tested) and the drawn elements."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from regwatch.report import svg


# report figures: ratios, seconds, counts, bytes (at most 6 decimals matter on an axis)
@given(st.lists(st.integers(-(10**12), 10**12).map(lambda i: i / 10**6), min_size=1, max_size=20))
def test_axis_range_holds_every_value_on_nice_steps(values: list[float]) -> None:
    lo, hi, step = svg.axis_range(values)
    assert lo <= min(values) and max(values) <= hi and hi > lo
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10))
    assert (hi - lo) / step <= 11


def test_axis_range_clamps_and_includes_zero() -> None:
    assert svg.axis_range([0.2, 1.0], floor=0.0, ceil=1.0) == (0.2, 1.0, 0.2)
    assert svg.axis_range([0.05, 0.08], zero=True) == (0.0, 0.08, 0.02)
    assert svg.axis_range([3.0]) == (2.6, 3.4, 0.2)


def test_chart_draws_a_point_per_value_and_breaks_lines_at_gaps() -> None:
    chart = svg.line_chart(
        "t <&>",
        ["a", "b", "c", "d"],
        [svg.Series("us", [1, 2, None, 4]), svg.Series("eu", [None, None, 3, None])],
    )
    assert chart.count('class="datum"') == 4
    assert chart.count('class="series"') == 1  # us: a-b joined, d alone; eu: one point, no line
    assert 'aria-label="t &lt;&amp;&gt;"' in chart
    assert "<title>us b: 2</title>" in chart


def test_chart_without_data_is_empty() -> None:
    assert svg.line_chart("t", ["a"], [svg.Series("us", [None])]) == ""
    assert svg.line_chart("t", [], []) == ""


def test_axis_labels() -> None:
    assert (svg.percent(0.995), svg.seconds(0.25), svg.count(1200), svg.count(3)) == (
        "99.5%",
        "250ms",
        "1.2k",
        "3",
    )
