"""The weekly SLO and cost report: gathered from the store, rendered as self-contained HTML or Markdown.

``build_report(store, cfg, period)`` gathers every figure (``data.gather``); ``render(report, fmt)``
draws it with the jinja2 templates in ``templates/`` (HTML with inline CSS and inline SVG charts,
no external assets, A4 print styles; or Markdown for chat and tickets).
"""

from __future__ import annotations

from typing import Any

from regwatch.config import Config
from regwatch.report.data import Period, gather, range_period, week_period
from regwatch.report.render import FORMATS, render
from regwatch.store import Store

__all__ = ["FORMATS", "Period", "build_report", "range_period", "render", "render_report", "week_period"]


def build_report(store: Store, cfg: Config, period: Period) -> dict[str, Any]:
    """Gather the report's figures for ``period`` (the templates' context)."""
    return gather(store, cfg, period)


def render_report(store: Store, cfg: Config, period: Period, fmt: str = "html") -> str:
    """Gather and render the report in one call."""
    return render(gather(store, cfg, period), fmt)
