"""compute_slis against the hand-computed fixtures of conftest.py (every figure worked out by hand)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, timedelta

import pytest
from slo.slo_data import LOG_ROWS, T0, add_probes, add_requests, at

from regwatch.config import Config, EgressConfig, SliConfig
from regwatch.errors import UsageError
from regwatch.slo import SLI_FIELDS, compute_slis
from regwatch.store import Store

GIB = 2**30
CFG = Config(egress=EgressConfig(usd_per_gib={"default": 0.09, "eu": 0.085}))
START, END = at(-1), at(3600)


@pytest.fixture
def logs(store: Store) -> Store:
    add_requests(store, LOG_ROWS)
    return store


def test_logs_overall_figures(logs: Store) -> None:
    (row,) = compute_slis(logs, CFG, start=START, end=END, by=None, source="logs")
    assert list(row) == list(SLI_FIELDS)
    assert row == {
        "pulls_good": 5,  # rows 1, 3, 5, 8, 18
        "pulls_bad": 3,  # 503, 429, 499
        "pulls_excluded": 3,  # 404, 401, 403
        "pull_success_ratio": 5 / 8,
        "first_attempt_success_ratio": 3 / 6,  # good first 1, 5, 18; bad first 2, 4, 6
        "manifest_latency_p50_seconds": pytest.approx(0.3),  # of 0.1 0.2 0.3 0.4 1.0
        "manifest_latency_p95_seconds": pytest.approx(0.4 + 0.8 * 0.6),
        "manifest_latency_p99_seconds": pytest.approx(0.4 + 0.96 * 0.6),
        "auth_failures": 3,
        "auth_failure_ratio": 3 / 19,
        "egress_bytes": 14500,
        "egress_bytes_per_pull": 2900.0,
        "egress_cost_usd": pytest.approx((14000 * 0.09 + 500 * 0.085) / GIB, rel=1e-12),
        "cache_hit_ratio": 1 / 3,
        "push_success_ratio": 0.5,
    }


def test_logs_by_region(logs: Store) -> None:
    rows = compute_slis(logs, CFG, start=START, end=END, by="region", source="logs")
    assert [(r["registry"], r["region"]) for r in rows] == [("main", "eu"), ("main", "us")]
    eu, us = rows
    assert list(eu)[:2] == ["registry", "region"]
    assert (eu["pulls_good"], eu["pulls_bad"], eu["pulls_excluded"]) == (1, 0, 1)
    assert (us["pulls_good"], us["pulls_bad"], us["pulls_excluded"]) == (4, 3, 2)
    assert eu["egress_cost_usd"] == pytest.approx(500 * 0.085 / GIB, rel=1e-12)
    assert us["egress_cost_usd"] == pytest.approx(14000 * 0.09 / GIB, rel=1e-12)
    assert (eu["push_success_ratio"], us["push_success_ratio"]) == (None, 0.5)
    assert (eu["cache_hit_ratio"], us["first_attempt_success_ratio"]) == (None, 2 / 5)


def test_logs_by_repository(logs: Store) -> None:
    rows = compute_slis(logs, CFG, start=START, end=END, by="repository", source="logs")
    assert [(r["registry"], r["repository"]) for r in rows] == [
        ("main", "a/app"),
        ("main", "b/lib"),
        ("main", None),
    ]
    assert [r["auth_failures"] for r in rows] == [1, 1, 1]  # the ping names no repository


def test_window_is_half_open(logs: Store) -> None:
    # (T0, T0 + 200]: row 1 at T0 is out, row 5 at T0 + 200 is in.
    (row,) = compute_slis(logs, CFG, start=at(0), end=at(200), by=None, source="logs")
    assert (row["pulls_good"], row["pulls_bad"]) == (4, 3)


def test_retry_sees_the_bad_pull_before_the_range(logs: Store) -> None:
    # From T0 + 20 the bad pull #2 (T0 + 10) is outside the range, yet #3 is still its retry.
    (row,) = compute_slis(logs, CFG, start=at(20), end=END, by=None, source="logs")
    assert (row["pulls_good"], row["pulls_bad"]) == (4, 2)
    assert row["first_attempt_success_ratio"] == 2 / 4  # good first 5, 18; bad first 4, 6


def test_retry_window_is_configurable(logs: Store) -> None:
    cfg = dataclasses.replace(CFG, sli=SliConfig(retry_window_seconds=10))
    (row,) = compute_slis(logs, cfg, start=START, end=END, by=None, source="logs")
    assert row["first_attempt_success_ratio"] == 5 / 8  # 30 s and 20 s after a bad pull are first now


def test_retry_needs_same_client_repository_and_reference(store: Store) -> None:
    add_requests(
        store,
        [
            {"ts": at(0), "status": 500},
            {"ts": at(1), "status": 200, "client_ip": "10.0.0.9"},  # other client
            {"ts": at(2), "status": 200, "reference": "v2"},  # other reference
            {"ts": at(3), "status": 200, "repository": "a/other"},  # other repository
            {"ts": at(4), "status": 200, "client_ip": None},  # unknown client: never a retry
            {"ts": at(60), "status": 200},  # 60 s after the 500: at most retry_window, a retry
            {"ts": at(61), "status": 200},  # previous good-or-bad was good: first
        ],
    )
    (row,) = compute_slis(store, Config(), start=START, end=END, by=None, source="logs")
    assert (row["pulls_good"], row["pulls_bad"]) == (6, 1)
    assert row["first_attempt_success_ratio"] == 5 / 6


def test_empty_range_gives_zeros_and_nulls_never_100_percent(store: Store) -> None:
    for source in ("logs", "probes"):
        (row,) = compute_slis(store, CFG, start=START, end=END, by=None, source=source)
        assert row == {
            "pulls_good": 0, "pulls_bad": 0, "pulls_excluded": 0, "pull_success_ratio": None,
            "first_attempt_success_ratio": None, "manifest_latency_p50_seconds": None,
            "manifest_latency_p95_seconds": None, "manifest_latency_p99_seconds": None,
            "auth_failures": 0, "auth_failure_ratio": None, "egress_bytes": 0,
            "egress_bytes_per_pull": None, "egress_cost_usd": 0.0, "cache_hit_ratio": None,
            "push_success_ratio": None,
        }  # fmt: skip
        assert compute_slis(store, CFG, start=START, end=END, by="region", source=source) == []


def test_only_excluded_pulls_give_null_ratios(store: Store) -> None:
    add_requests(store, [{"ts": at(1), "status": 404}, {"ts": at(2), "status": 401}])
    (row,) = compute_slis(store, CFG, start=START, end=END, by=None, source="logs")
    assert (row["pulls_excluded"], row["pull_success_ratio"], row["first_attempt_success_ratio"]) == (
        2,
        None,
        None,
    )
    assert row["auth_failure_ratio"] == 0.5


@pytest.fixture
def probes(store: Store) -> Store:
    add_probes(
        store,
        [
            {"ts": at(1), "duration_s": 0.5, "manifest_s": 0.1, "bytes": 1000},
            {"ts": at(2), "duration_s": 2.0, "manifest_s": 0.2, "bytes": 1000},
            {"ts": at(3), "auth_path": "ci-robot", "result": "failure", "reason": "unauthorized",
             "duration_s": 0.3},
            {"ts": at(4), "region": "eu", "duration_s": 3.0, "manifest_s": 0.3, "bytes": 1000},
            {"ts": at(5), "region": "eu", "auth_path": "ci-robot", "result": "failure",
             "reason": "server_error", "duration_s": 1.0, "bytes": 200},
            {"ts": at(6), "kind": "replication", "result": "failure", "reason": "replication_timeout"},
        ],
    )  # fmt: skip
    return store


def test_probes_overall(probes: Store) -> None:
    (row,) = compute_slis(probes, CFG, start=START, end=END, by=None, source="probes")
    assert row == {
        "pulls_good": 3,
        "pulls_bad": 2,
        "pulls_excluded": 0,
        "pull_success_ratio": 0.6,
        "first_attempt_success_ratio": 0.6,
        "manifest_latency_p50_seconds": pytest.approx(0.2),
        "manifest_latency_p95_seconds": pytest.approx(0.29),
        "manifest_latency_p99_seconds": pytest.approx(0.298),
        "auth_failures": 1,
        "auth_failure_ratio": 0.2,
        "egress_bytes": 3200,
        "egress_bytes_per_pull": 3200 / 3,
        "egress_cost_usd": pytest.approx((2000 * 0.09 + 1200 * 0.085) / GIB, rel=1e-12),
        "cache_hit_ratio": None,
        "push_success_ratio": None,
    }


def test_probes_by_auth_path(probes: Store) -> None:
    rows = compute_slis(probes, CFG, start=START, end=END, by="auth_path", source="probes")
    assert [(r["registry"], r["auth_path"], r["pulls_good"], r["pulls_bad"]) for r in rows] == [
        ("main", "anonymous", 3, 0),
        ("main", "ci-robot", 0, 2),
    ]


def test_aware_bounds_are_utc(probes: Store) -> None:
    from datetime import timezone

    plus2 = timezone(timedelta(hours=2))
    start = (T0 + timedelta(hours=2)).replace(tzinfo=plus2)  # = T0 UTC
    (row,) = compute_slis(probes, CFG, start=start, end=END.replace(tzinfo=UTC), by=None, source="probes")
    assert row["pulls_good"] + row["pulls_bad"] == 5


@pytest.mark.parametrize(
    ("by", "source", "message"),
    [
        ("auth_path", "logs", "--by auth_path needs --source probes"),
        ("canary", "logs", "--by must be one of"),
        (None, "metrics", "--source must be logs or probes"),
    ],
)
def test_impossible_selections_are_usage_errors(
    store: Store, by: str | None, source: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        compute_slis(store, CFG, start=START, end=END, by=by, source=source)  # type: ignore[arg-type]


def test_reversed_range_is_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError, match="range is empty"):
        compute_slis(store, CFG, start=END, end=START, by=None, source="logs")
