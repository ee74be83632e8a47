"""Inline SVG line charts for the HTML report: no scripts, no external assets, print-friendly.

A chart is drawn in a fixed viewBox and scales to the width of its container, so it never overflows
the page. Every data point is a ``<circle class="datum">`` with a ``<title>`` (hover text), which is
also what the report test counts to check that a chart has data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

#: Okabe-Ito palette: distinguishable for colour-blind readers and in greyscale print.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

WIDTH = 640
HEIGHT = 190
MARGIN_LEFT = 58
MARGIN_RIGHT = 12
MARGIN_TOP = 10
MARGIN_BOTTOM = 46


@dataclass(frozen=True)
class Series:
    """One line: a name (the legend) and one value per x label (None where there is no data)."""

    name: str
    values: Sequence[float | None]


def nice_step(span: float, ticks: int = 4) -> float:
    """Return a 1/2/5 x 10^n step that cuts ``span`` into about ``ticks`` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag * (1 + 1e-9):
            return m * mag
    return 10 * mag


def axis_range(
    values: Sequence[float], *, floor: float | None = None, ceil: float | None = None, zero: bool = False
) -> tuple[float, float, float]:
    """Return (low, high, step) of a y axis holding ``values`` (and 0 if ``zero``), within [floor, ceil]."""
    lo, hi = min(values), max(values)
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if floor is not None:
        lo = max(min(lo, hi), floor)
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo)
    vmin, vmax = lo, hi
    lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    while lo > vmin:  # the tolerance above must never cut a value off
        lo -= step
    while hi < vmax:
        hi += step
    lo, hi = round(lo, 12), round(hi, 12)
    if floor is not None:
        lo = max(lo, floor)
    if ceil is not None:
        hi = min(hi, ceil)
    if hi <= lo:
        hi = lo + step
    return lo, hi, step


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str] = str,
    floor: float | None = None,
    ceil: float | None = None,
    zero: bool = False,
) -> str:
    """Draw ``series`` against the x ``labels`` as an inline SVG; return "" when there is no data."""
    points = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    if not points or not labels:
        return ""
    lo, hi, step = axis_range(points, floor=floor, ceil=ceil, zero=zero)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    n = len(labels)

    def x(i: int) -> float:
        return MARGIN_LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return MARGIN_TOP + plot_h * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))

    legend, extra = _legend(series)
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + extra}" '
        f'role="img" aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    ticks = round((hi - lo) / step)
    for k in range(ticks + 1):
        v = lo + k * step
        yy = y(v)
        out.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}"/>'
        )
        out.append(
            f'<text class="ytick" x="{MARGIN_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{escape(fmt(v))}</text>'
        )
    for i, label in enumerate(labels):
        out.append(
            f'<text class="xtick" x="{x(i):.1f}" y="{MARGIN_TOP + plot_h + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    for si, s in enumerate(series):
        color = PALETTE[si % len(PALETTE)]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, val in enumerate(s.values):
            if val is None or not math.isfinite(val):
                runs.append([])
                continue
            runs[-1].append((x(i), y(val)))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                out.append(
                    f'<polyline class="series" fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>'
                )
        for i, val in enumerate(s.values):
            if val is None or not math.isfinite(val):
                continue
            out.append(
                f'<circle class="datum" cx="{x(i):.1f}" cy="{y(val):.1f}" r="3" fill="{color}">'
                f"<title>{escape(s.name)} {escape(labels[i])}: {escape(fmt(val))}</title></circle>"
            )
    out += legend
    out.append("</svg>")
    return "\n".join(out)


def _legend(series: Sequence[Series]) -> tuple[list[str], int]:
    """Lay out the legend under the x labels, wrapping rows; return its elements and the extra height."""
    out = []
    lx, ly = MARGIN_LEFT, HEIGHT - 12
    for si, s in enumerate(series):
        name = s.name if len(s.name) <= 24 else s.name[:23] + "\u2026"
        width = 22 + 7 * len(name)
        if lx + width > WIDTH and lx > MARGIN_LEFT:
            lx, ly = MARGIN_LEFT, ly + 14
        color = PALETTE[si % len(PALETTE)]
        out.append(f'<rect class="key" x="{lx}" y="{ly - 8}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text class="legend" x="{lx + 14}" y="{ly + 1}">{escape(name)}</text>')
        lx += width + 10
    return out, ly - (HEIGHT - 12)


def percent(v: float) -> str:
    """Format a ratio as a percentage for an axis (0.995 -> 99.5%)."""
    return f"{_fmt(v * 100)}%"


def seconds(v: float) -> str:
    """Format seconds for an axis: milliseconds below a second, so small ticks stay distinct."""
    if v == 0:
        return "0s"
    if abs(v) < 1:
        return f"{v * 1000:.3g}ms"
    return f"{_fmt(v)}s" if v < 100 else f"{v:.0f}s"


def count(v: float) -> str:
    """Format a count for an axis (1200 -> 1.2k)."""
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{_fmt(v / size)}{unit}"
    return _fmt(v)
