"""Durations and times: property tests for the arithmetic, exact cases for the formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regwatch.timeutil import format_duration, iso_week_range, parse_duration, parse_time

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("30d", 2592000), ("2w", 1209600), ("500ms", 0.5), ("1d2h3m4s", 93784)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "-5m", "0s", "1.5h", "5x", "1m1h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**10))
def test_format_then_parse_round_trips(ms: int) -> None:
    assert parse_duration(format_duration(ms / 1000)) == pytest.approx(ms / 1000)


def test_format_duration_is_shortest() -> None:
    assert format_duration(86400) == "1d"
    assert format_duration(5400) == "1h30m"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("-1h", NOW - timedelta(hours=1)),
        ("-1d12h", NOW - timedelta(days=1, hours=12)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("2026-11-20T12:00:00+02:00", datetime(2026, 11, 20, 10, tzinfo=UTC)),
        ("1795000000", datetime.fromtimestamp(1795000000, UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


def test_parse_time_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday-ish", now=NOW)


def test_iso_week() -> None:
    start, end = iso_week_range("2026-W47")
    assert start == datetime(2026, 11, 16, tzinfo=UTC) and end == datetime(2026, 11, 23, tzinfo=UTC)
    with pytest.raises(ValueError):
        iso_week_range("2026-W54")


@given(st.integers(min_value=2000, max_value=2100), st.integers(min_value=1, max_value=52))
def test_iso_week_is_seven_days_from_a_monday(year: int, week: int) -> None:
    start, end = iso_week_range(f"{year}-W{week:02d}")
    assert start.weekday() == 0 and end - start == timedelta(days=7)
