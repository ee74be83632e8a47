"""log_counters: the exporter's regwatch_log_* rows, from the same classification as the SLIs."""

from __future__ import annotations

from slo.slo_data import LOG_ROWS, add_requests

from regwatch import catalog
from regwatch.config import Config, SliConfig
from regwatch.slo import log_counters
from regwatch.store import Store


def test_counters_of_the_fixture(store: Store) -> None:
    add_requests(store, LOG_ROWS)
    got = log_counters(store, Config())
    assert got == {
        catalog.LOG_REQUESTS.name: [
            ("main", "eu", "manifest", "200", 1),
            ("main", "eu", "manifest", "403", 1),
            ("main", "us", "blob", "200", 2),
            ("main", "us", "blob", "206", 1),
            ("main", "us", "blob", "304", 1),
            ("main", "us", "manifest", "200", 5),  # four pulls and a HEAD
            ("main", "us", "manifest", "201", 1),
            ("main", "us", "manifest", "401", 1),
            ("main", "us", "manifest", "404", 1),
            ("main", "us", "manifest", "429", 1),
            ("main", "us", "manifest", "499", 1),
            ("main", "us", "manifest", "500", 1),
            ("main", "us", "manifest", "503", 1),
            ("main", "us", "ping", "401", 1),
        ],
        catalog.LOG_PULLS.name: [
            ("main", "eu", "excluded", "first", 1),
            ("main", "eu", "good", "first", 1),
            ("main", "us", "bad", "first", 3),
            ("main", "us", "excluded", "first", 1),
            ("main", "us", "excluded", "retry", 1),  # the 404 10 s after a 499
            ("main", "us", "good", "first", 2),
            ("main", "us", "good", "retry", 2),
        ],
        catalog.LOG_PUSHES.name: [("main", "us", "bad", 1), ("main", "us", "good", 1)],
        catalog.LOG_AUTH_FAILURES.name: [("main", "eu", 1), ("main", "us", 2)],
        catalog.LOG_EGRESS.name: [("main", "eu", 500), ("main", "us", 14000)],
        catalog.LOG_REPO_FAILURES.name: [("main", "us", "a/app", 4)],  # 503, 429, 499 and the push's 500
    }
    for metric in (catalog.LOG_REQUESTS, catalog.LOG_PULLS, catalog.LOG_PUSHES, catalog.LOG_EGRESS):
        assert all(len(row) == len(metric.labels) + 1 for row in got[metric.name])


def test_counters_follow_the_retry_window(store: Store) -> None:
    add_requests(store, LOG_ROWS)
    pulls = log_counters(store, Config(sli=SliConfig(retry_window_seconds=5)))[catalog.LOG_PULLS.name]
    assert [r for r in pulls if r[3] == "retry"] == []


def test_empty_store(store: Store) -> None:
    got = log_counters(store)
    assert set(got) == {
        m.name
        for m in (
            catalog.LOG_REQUESTS,
            catalog.LOG_PULLS,
            catalog.LOG_PUSHES,
            catalog.LOG_AUTH_FAILURES,
            catalog.LOG_EGRESS,
            catalog.LOG_REPO_FAILURES,
        )
    }
    assert all(rows == [] for rows in got.values())
