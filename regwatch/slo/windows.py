"""Event-time windows: every window ends at a point in time and is half-open, (end - length, end].

The store holds naive UTC timestamps; everything here converts aware datetimes to that form so a
bound parameter can never be shifted by a session time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from regwatch.catalog import BURN_WINDOWS
from regwatch.timeutil import parse_duration

#: Bounds of "all time" (naive UTC), for queries over the whole store.
ALL_TIME_START = datetime.min
ALL_TIME_END = datetime.max


def naive_utc(t: datetime) -> datetime:
    """Return ``t`` as a naive datetime in UTC (naive input is taken as UTC already)."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


def burn_window_seconds() -> dict[str, float]:
    """The burn-rate windows of the catalogue, in seconds, shortest first."""
    return {name: parse_duration(name) for name in BURN_WINDOWS}


def window_starts(at: datetime, lengths: Mapping[str, float]) -> dict[str, datetime]:
    """Return each window's exclusive lower bound: ``at - length`` (naive UTC)."""
    end = naive_utc(at)
    return {name: end - timedelta(seconds=secs) for name, secs in lengths.items()}


def in_window(ts: datetime, lo: datetime, hi: datetime) -> bool:
    """Whether an event at ``ts`` falls in the half-open window (lo, hi]."""
    return lo < ts <= hi


def lookback(lo: datetime, seconds: float) -> datetime:
    """``lo`` moved back by ``seconds`` (clamped at the earliest storable time)."""
    try:
        return lo - timedelta(seconds=seconds)
    except OverflowError:
        return datetime.min


def microseconds(seconds: float) -> int:
    """Seconds as whole microseconds (the store's resolution)."""
    return round(seconds * 1_000_000)


def count_in_windows(
    events: Iterable[tuple[datetime, bool]], at: datetime, lengths: Mapping[str, float]
) -> dict[str, tuple[int, int]]:
    """Count (good, bad) events per window directly, in Python: the reference the SQL is tested against."""
    starts = window_starts(at, lengths)
    end = naive_utc(at)
    out = {name: [0, 0] for name in lengths}
    for ts, good in events:
        for name, lo in starts.items():
            if in_window(ts, lo, end):
                out[name][0 if good else 1] += 1
    return {name: (g, b) for name, (g, b) in out.items()}
