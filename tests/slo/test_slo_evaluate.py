"""evaluate_slos against hand-computed windows, budgets, burn rates and states."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from slo.slo_data import LOG_ROWS, T0, add_probes, add_requests, at

from regwatch.catalog import BURN_WINDOWS
from regwatch.config import Config, parse_config
from regwatch.slo import evaluate_slos
from regwatch.store import Store

AT = T0 + timedelta(days=40)

# (seconds before AT, good?) -> counts per window worked out in test_windows_budget_and_burn
AGES = [
    (0, False),  # exactly at AT: in every window
    (299, True),  # in 5m
    (300, False),  # exactly 5m before: not in 5m, in 30m
    (1799, True),
    (3600, False),  # exactly 1h before: not in 1h, in 2h
    (7199, True),
    (3 * 86400, False),  # exactly 3d before: not in 3d, in the 30d SLO window
    (30 * 86400, False),  # exactly 30d before: in no window
    (-1, False),  # after AT: in no window
]


def cfg_with(slos: str) -> Config:
    return parse_config(f"slos:\n{slos}", "test.yaml")


@pytest.fixture
def aged(store: Store) -> Store:
    add_probes(
        store,
        [
            {"ts": AT - timedelta(seconds=age), "result": "success" if good else "failure"}
            for age, good in AGES
        ],
    )
    return store


def test_windows_budget_and_burn(aged: Store) -> None:
    cfg = cfg_with("  - {name: p, sli: pull_success, source: probes, objective: 0.9, window: 30d}")
    (st,) = evaluate_slos(aged, cfg, at=AT.replace(tzinfo=UTC))
    d = st.to_dict()
    assert list(d) == [
        "slo", "sli", "source", "objective", "window", "sli_value", "good", "bad", "error_budget_total",
        "error_budget_consumed", "error_budget_remaining", "error_budget_remaining_ratio", "burn_rates", "state",
    ]  # fmt: skip
    assert (d["good"], d["bad"], d["sli_value"]) == (3, 4, 3 / 7)
    assert d["error_budget_total"] == pytest.approx(0.7)
    assert d["error_budget_consumed"] == 4
    assert d["error_budget_remaining"] == pytest.approx(-3.3)
    assert d["error_budget_remaining_ratio"] == pytest.approx(-3.3 / 0.7)
    assert list(d["burn_rates"]) == list(BURN_WINDOWS)
    # every burn window holds as many good as bad events: error ratio 0.5, burn 0.5 / 0.1
    assert d["burn_rates"] == {w: pytest.approx(5.0) for w in BURN_WINDOWS}
    assert st.window_events == {"5m": 2, "30m": 4, "1h": 4, "2h": 6, "6h": 6, "1d": 6, "3d": 6}
    assert d["state"] == "ok"  # ticket's 1d/2h burn 5 > 3, but fewer than min_events (10) events


def test_ticket_when_the_low_traffic_guard_allows(aged: Store) -> None:
    cfg = cfg_with(
        "  - {name: p, sli: pull_success, source: probes, objective: 0.9, window: 30d,"
        " alerting: {min_events: 2}}"
    )
    (st,) = evaluate_slos(aged, cfg, at=AT)
    assert st.state == "ticket"  # 1d 5.0 > 3 and 2h 5.0 > 3; page needs > 14.4 or > 6


def test_page_and_disabled_tiers(store: Store) -> None:
    # 10 failures in the last 5 minutes, nothing else: every window's burn is 1 / 0.01 = 100.
    add_probes(store, [{"ts": AT - timedelta(seconds=s), "result": "failure"} for s in range(10)])
    base = "  - {{name: p, sli: pull_success, source: probes, objective: 0.99, window: 30d, alerting: {}}}"
    states = [
        evaluate_slos(store, cfg_with(base.format(alerting)), at=AT)[0].state
        for alerting in ("{}", "{page: false}", "{page: false, ticket: false}")
    ]
    assert states == ["page", "ticket", "ok"]


def test_pull_latency_counts_a_failed_pull_as_slow(store: Store) -> None:
    add_probes(
        store,
        [
            {"ts": AT - timedelta(seconds=1), "duration_s": 2.0},  # at the threshold: good
            {"ts": AT - timedelta(seconds=2), "duration_s": 2.000001},  # over: bad
            {"ts": AT - timedelta(seconds=3), "duration_s": 0.1, "result": "failure", "reason": "timeout"},
            {"ts": AT - timedelta(seconds=4), "duration_s": 0.1},
        ],
    )
    cfg = cfg_with(
        "  - {name: l, sli: pull_latency, source: probes, threshold_seconds: 2, objective: 0.95, window: 1d}"
    )
    (st,) = evaluate_slos(store, cfg, at=AT)
    assert (st.good, st.bad, st.sli_value) == (2, 2, 0.5)


def test_log_slos_and_filters(store: Store) -> None:
    add_requests(store, LOG_ROWS)
    cfg = cfg_with(
        "  - {name: pulls, sli: pull_success, source: logs, objective: 0.99, window: 1d}\n"
        "  - {name: first, sli: first_attempt_success, source: logs, objective: 0.99, window: 1d}\n"
        "  - {name: pushes, sli: push_success, source: logs, objective: 0.99, window: 1d}\n"
        "  - {name: eu-lib, sli: pull_success, source: logs, objective: 0.99, window: 1d,"
        " filters: {registry: main, region: eu, repository: 'b/*'}}\n"
        "  - {name: us-b, sli: pull_success, source: logs, objective: 0.99, window: 1d,"
        " filters: {region: us, repository: 'b/*'}}"
    )
    got = {s.slo: (s.good, s.bad) for s in evaluate_slos(store, cfg, at=at(3600))}
    assert got == {"pulls": (5, 3), "first": (3, 3), "pushes": (1, 1), "eu-lib": (1, 0), "us-b": (0, 0)}


def test_empty_store_is_no_data_with_nulls(store: Store) -> None:
    cfg = cfg_with(
        "  - {name: a, sli: pull_success, source: probes, objective: 0.999, window: 30d}\n"
        "  - {name: b, sli: first_attempt_success, source: logs, objective: 0.99, window: 28d}"
    )
    for st in evaluate_slos(store, cfg, at=AT):
        d = st.to_dict()
        assert d["state"] == "no_data"
        assert (d["sli_value"], d["error_budget_remaining_ratio"], d["good"], d["bad"]) == (None, None, 0, 0)
        assert d["burn_rates"] == dict.fromkeys(BURN_WINDOWS)


def test_old_data_only_is_no_data(store: Store) -> None:
    # Events in the SLO window but none in the last 5 minutes: the page tier cannot be evaluated.
    add_probes(store, [{"ts": AT - timedelta(minutes=90), "result": "success"} for _ in range(20)])
    cfg = cfg_with("  - {name: a, sli: pull_success, source: probes, objective: 0.999, window: 30d}")
    (st,) = evaluate_slos(store, cfg, at=AT)
    assert (st.state, st.sli_value, st.burn_rates["5m"], st.burn_rates["3d"]) == ("no_data", 1.0, None, 0.0)
    # with only the ticket tier, its windows 1d, 2h, 3d and 6h all hold events: ok
    cfg = cfg_with(
        "  - {name: a, sli: pull_success, source: probes, objective: 0.999, window: 30d, alerting: {page: false}}"
    )
    assert evaluate_slos(store, cfg, at=AT)[0].state == "ok"
