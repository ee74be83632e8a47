"""compute_slis per day, and the classified() hook: a retry set computed once gives the same figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from slo.slo_data import LOG_ROWS, add_probes, add_requests, at

from regwatch.config import Config, parse_config
from regwatch.slo import classified, compute_slis, evaluate_slos
from regwatch.store import Store

DAY = datetime(2026, 3, 1)
CFG = Config()


def retry_sets(store: Store) -> list[str]:
    rows = store.fetchall(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'rw_retry_set_%'"
    )
    return [r[0] for r in rows]


@pytest.fixture
def two_days(store: Store) -> Store:
    add_requests(
        store,
        [
            # day 1
            {"ts": DAY + timedelta(hours=23, minutes=59, seconds=59), "status": 200, "duration_s": 0.1},
            # exactly midnight: the end of day 1's (lo, hi], so day 1's
            {"ts": DAY + timedelta(days=1), "status": 503},
            # day 2: a good pull 1 s after the bad one: a retry, across midnight
            {"ts": DAY + timedelta(days=1, seconds=1), "status": 200, "duration_s": 0.3},
            {"ts": DAY + timedelta(days=1, hours=12), "client_ip": "10.0.0.2", "status": 429},
            {"ts": DAY + timedelta(days=1, hours=12, seconds=30), "client_ip": "10.0.0.2", "status": 200,
             "region": "eu", "duration_s": 0.5},
        ],
    )  # fmt: skip
    add_probes(
        store,
        [
            {"ts": DAY + timedelta(hours=13)},
            {"ts": DAY + timedelta(days=1, hours=13), "result": "failure", "reason": "server_error"},
        ],
    )
    return store


def test_per_day_rows_split_at_midnight(two_days: Store) -> None:
    rows = compute_slis(
        two_days, CFG, start=DAY + timedelta(hours=12), end=DAY + timedelta(days=2), per_day=True
    )
    assert [r["day"] for r in rows] == [DAY, DAY + timedelta(days=1)]
    d1, d2 = rows
    assert list(d1)[0] == "day"
    assert (d1["pulls_good"], d1["pulls_bad"], d1["first_attempt_success_ratio"]) == (1, 1, 0.5)
    # day 2: both good pulls are retries (of the midnight 503 and of the 429): no good first attempt
    assert (d2["pulls_good"], d2["pulls_bad"], d2["first_attempt_success_ratio"]) == (2, 1, 0.0)
    assert d2["manifest_latency_p50_seconds"] == pytest.approx(0.4)  # of 0.3 and 0.5


def test_per_day_by_region_and_probes(two_days: Store) -> None:
    rows = compute_slis(
        two_days, CFG, start=DAY, end=DAY + timedelta(days=2), by="region", per_day=True, source="logs"
    )
    assert [(r["day"], r["region"], r["pulls_good"], r["pulls_bad"]) for r in rows] == [
        (DAY, "us", 1, 1),
        (DAY + timedelta(days=1), "eu", 1, 0),
        (DAY + timedelta(days=1), "us", 1, 1),
    ]
    probes = compute_slis(
        two_days, CFG, start=DAY, end=DAY + timedelta(days=2), source="probes", per_day=True
    )
    assert [(r["day"], r["pull_success_ratio"]) for r in probes] == [
        (DAY, 1.0),
        (DAY + timedelta(days=1), 0.0),
    ]


def test_per_day_without_data_has_no_rows(two_days: Store) -> None:
    # (ungrouped and not per day, a range without data still gives its one row of zeros)
    assert (
        compute_slis(two_days, CFG, start=DAY - timedelta(days=9), end=DAY - timedelta(days=8), per_day=True)
        == []
    )


def test_a_retry_set_computed_once_gives_the_same_figures(store: Store) -> None:
    add_requests(store, LOG_ROWS)
    ranges = [(at(-1), at(3600)), (at(20), at(75)), (at(45), at(200)), (at(-100), at(5000))]
    alone = [compute_slis(store, CFG, start=lo, end=hi, by="region") for lo, hi in ranges]
    with classified(store, CFG, at(-1), at(3600)) as data:
        assert len(retry_sets(store)) == 1
        # inside the handle's range it is read; the last range is not inside and gets its own
        shared = [compute_slis(store, CFG, start=lo, end=hi, by="region", data=data) for lo, hi in ranges]
        assert data.covers(store, at(20), at(75), 60.0) and not data.covers(store, at(-100), at(5000), 60.0)
        assert not data.covers(store, at(20), at(75), 30.0)  # another retry window needs another set
    assert shared == alone
    assert retry_sets(store) == []


def test_evaluate_slos_with_a_retry_set(store: Store) -> None:
    add_requests(store, LOG_ROWS)
    cfg = parse_config(
        "slos:\n"
        "  - {name: first, sli: first_attempt_success, source: logs, objective: 0.9, window: 1d}\n"
        "  - {name: pulls, sli: pull_success, source: logs, objective: 0.9, window: 1d}\n",
        "t.yaml",
    )
    when = at(300)
    alone = [s.to_dict() for s in evaluate_slos(store, cfg, at=when)]
    assert (alone[0]["good"], alone[0]["bad"]) == (3, 3)  # first attempts: good 1, 5, 18; bad 2, 4, 6
    assert (alone[1]["good"], alone[1]["bad"]) == (5, 3)
    with classified(store, cfg, when - timedelta(days=3), when) as data:
        assert [s.to_dict() for s in evaluate_slos(store, cfg, at=when, data=data)] == alone
    assert retry_sets(store) == []


def test_the_retry_set_is_dropped_on_error(store: Store) -> None:
    add_requests(store, LOG_ROWS)
    with pytest.raises(RuntimeError), classified(store, CFG, at(-1), at(3600)):
        assert len(retry_sets(store)) == 1
        raise RuntimeError("boom")
    assert retry_sets(store) == []
