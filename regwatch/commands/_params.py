"""Click parameter types shared by subcommands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from regwatch.timeutil import parse_duration, parse_time


class TimeParam(click.ParamType):
    """A point in time: now, -1h, 2026-11-20, 2026-11-20T10:00:00Z or unix seconds (UTC)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class DurationParam(click.ParamType):
    """A Prometheus duration such as 5m, 1h or 30d, converted to seconds."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


TIME = TimeParam()
DURATION = DurationParam()
