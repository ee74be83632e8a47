"""Durations and points in time, as people and Prometheus write them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PROM_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)


def parse_duration(text: str) -> float:
    """Parse a Prometheus duration (``30d``, ``1h30m``, ``500ms``) into seconds.

    Raises ValueError for anything else, including an empty or zero duration.
    """
    m = _PROM_DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise ValueError(f"not a duration like 5m, 1h or 30d: {text!r}")
    secs = 0.0
    for value, unit in zip(m.groups(), ("y", "w", "d", "h", "m", "s", "ms"), strict=True):
        if value:
            secs += int(value) * _UNITS[unit]
    if secs <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return secs


def format_duration(seconds: float) -> str:
    """Format seconds as the shortest Prometheus duration (``86400`` -> ``1d``)."""
    if seconds <= 0:
        raise ValueError("duration must be positive")
    ms = round(seconds * 1000)
    out = []
    for unit, size in (("d", 86400_000), ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


_RELATIVE = re.compile(r"^-(\d+(?:y|w|d|h|m|s|ms)(?:\d+(?:w|d|h|m|s|ms))*)$")


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """Parse ``now``, a relative ``-1h``, an ISO date or datetime, or unix seconds into aware UTC.

    A naive datetime is taken as UTC.
    """
    now = now or datetime.now(UTC)
    t = text.strip()
    if t == "now":
        return now
    m = _RELATIVE.match(t)
    if m:
        return now - timedelta(seconds=parse_duration(m.group(1)))
    if re.fullmatch(r"\d{9,11}(\.\d+)?", t):
        return datetime.fromtimestamp(float(t), UTC)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a time (now, -1h, 2026-11-20, 2026-11-20T10:00:00Z, unix seconds): {text!r}"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso_week_range(week: str) -> tuple[datetime, datetime]:
    """Return [monday 00:00, next monday 00:00) in UTC for an ISO week like ``2026-W47``."""
    m = re.fullmatch(r"(\d{4})-W(\d{2})", week.strip())
    if not m:
        raise ValueError(f"not an ISO week like 2026-W47: {week!r}")
    try:
        start = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"no such ISO week: {week!r}") from exc
    s = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return s, s + timedelta(days=7)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC (a function so tests can pin the clock)."""
    return datetime.now(UTC)
