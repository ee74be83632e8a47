"""Render the gathered report with the jinja2 templates: self-contained HTML or Markdown."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import jinja2

from regwatch import __version__
from regwatch.report import svg

FORMATS: tuple[str, ...] = ("html", "md")


# --- formatting (shared by both templates) -----------------------------------------------------------

DASH = "\u2013"


def _finite(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))


def pct(v: float | None, digits: int = 2) -> str:
    """A ratio as a percentage: 0.99512 -> ``99.51%``; None -> an en dash."""
    if v is None or not _finite(v):
        return DASH
    return f"{v * 100:.{digits}f}%".replace("-", "\u2212")


def signed_pct(v: float | None, digits: int = 1) -> str:
    """A relative change as a signed percentage: 0.125 -> ``+12.5%``."""
    if not _finite(v):
        return DASH
    assert v is not None
    text = f"{v * 100:+.{digits}f}%"
    return "0.0%" if text in ("+0.0%", "-0.0%") else text.replace("-", "\u2212")


def points(v: float | None, digits: int = 1) -> str:
    """A change between two ratios in percentage points: 0.032 -> ``+3.2 pp``."""
    if not _finite(v):
        return DASH
    assert v is not None
    text = f"{v * 100:+.{digits}f} pp"
    return "0.0 pp" if text in ("+0.0 pp", "-0.0 pp") else text.replace("-", "\u2212")


def size(v: float | None) -> str:
    """Bytes in IEC units: ``1.50 GiB``."""
    if not _finite(v):
        return DASH
    assert v is not None
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= factor:
            return f"{v / factor:.2f} {unit}"
    return f"{v:.0f} B"


def usd(v: float | None) -> str:
    """US dollars with cents: ``$1,234.50``."""
    return f"${v:,.2f}" if _finite(v) else DASH


def num(v: float | None) -> str:
    """A count with thousands separators."""
    return f"{v:,.0f}" if _finite(v) else DASH


def seconds(v: float | None) -> str:
    """Seconds with three significant decimals: ``0.123 s``."""
    return f"{v:.3f} s" if _finite(v) else DASH


def when(t: datetime | None) -> str:
    """A UTC time to the minute: ``2026-11-18 10:05Z``."""
    return t.strftime("%Y-%m-%d %H:%MZ") if t is not None else DASH


def day(t: datetime) -> str:
    """A day label for charts and tables: ``Mon 16``."""
    return t.strftime("%a %d")


def span(delta: timedelta) -> str:
    """A duration for people: ``1h 05m``, ``12m``."""
    minutes = round(delta.total_seconds() / 60)
    h, m = divmod(minutes, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m"


def codes(top: list[dict[str, Any]]) -> str:
    """Top error codes of an incident: ``503 x 120, 429 x 4``."""
    return ", ".join(f"{c['code']} \u00d7 {c['count']:,}" for c in top) or DASH


# --- view model ---------------------------------------------------------------------------------


def _label(key: str, single: bool) -> str:
    return key.split("/", 1)[1] if single and "/" in key else key


DAILY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("pull_success_ratio", "Pull success", "ratio"),
    ("manifest_latency_p95_seconds", "p95 manifest latency", "seconds"),
)
SOURCE_TITLES = {"logs": "registry logs (real clients)", "probes": "probes (canary pulls)"}


def _grid(
    block: dict[str, Any], field: str, single: bool, *, zero_fill: bool = False
) -> list[dict[str, Any]]:
    rows = []
    for region in block["regions"]:
        values = []
        for i in range(len(block["days"])):
            cell = block["cells"].get((region, i))
            value = cell[field] if cell is not None else None
            values.append(0 if value is None and zero_fill else value)
        rows.append({"region": _label(region, single), "values": values})
    return rows


def view(report: dict[str, Any]) -> dict[str, Any]:
    """Add what the templates draw (labels, grids, inline SVG charts) to the gathered report."""
    v = dict(report)
    single = len(report.get("registries", [])) <= 1
    v["version"] = __version__
    if not report["has_data"]:
        return v
    v["label"] = lambda key: _label(key, single)
    charts = []
    for source, block in report["daily"].items():
        labels = [day(d) for d in block["days"]]
        for field, title, kind in DAILY_METRICS:
            grid = _grid(block, field, single)
            full = f"{title} per day, {SOURCE_TITLES[source]}"
            series = [svg.Series(r["region"], r["values"]) for r in grid]
            if kind == "ratio":
                drawn = svg.line_chart(full, labels, series, fmt=svg.percent, ceil=1.0, floor=0.0)
            else:
                drawn = svg.line_chart(full, labels, series, fmt=svg.seconds, zero=True)
            charts.append({"title": full, "svg": drawn, "kind": kind, "labels": labels, "rows": grid})
    v["charts"] = charts
    if "logs" in report["daily"]:
        block = report["daily"]["logs"]
        labels = [day(d) for d in block["days"]]
        grid = _grid(block, "auth_failures", single, zero_fill=True)
        title = "Auth failures (401 and 403) per day, registry logs"
        series = [svg.Series(r["region"], r["values"]) for r in grid]
        v["auth"] = {
            "title": title,
            "svg": svg.line_chart(title, labels, series, fmt=svg.count, zero=True)
            if any(x for r in grid for x in r["values"])
            else "",
            "labels": labels,
            "rows": grid,
            "total": sum(x or 0 for r in grid for x in r["values"]),
        }
    return v


# --- rendering ----------------------------------------------------------------------------------


def _environment(fmt: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("regwatch.report", "templates"),
        autoescape=fmt == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        pct=pct,
        signed_pct=signed_pct,
        points=points,
        size=size,
        usd=usd,
        num=num,
        seconds=seconds,
        when=when,
        day=day,
        span=span,
        codes=codes,
        mdcell=lambda s: str(s).replace("|", "\\|"),
    )
    return env


def render(report: dict[str, Any], fmt: str = "html") -> str:
    """Render a gathered report as ``html`` or ``md``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    template = _environment(fmt).get_template(f"report.{'html' if fmt == 'html' else 'md'}.j2")
    if fmt == "html":
        return template.render(**view(report), safe_svg=jinja2.utils.markupsafe.Markup)
    return template.render(**view(report))
