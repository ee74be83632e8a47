"""Probe metrics, built from the catalogue on a registry the caller owns (no global state)."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from regwatch.catalog import (
    PROBE_CONSECUTIVE_FAILURES,
    PROBE_ERRORS,
    PROBE_LAST_SUCCESS,
    PROBE_PHASE_DURATION,
    PROBE_PHASES,
    PROBE_PULL_BYTES,
    PROBE_PULL_DURATION,
    PROBE_PULLS,
    PROBE_RESULTS,
    Metric,
)
from regwatch.probe.result import ProbeResult


def _counter(m: Metric, registry: CollectorRegistry) -> Counter:
    return Counter(m.family, m.help, m.labels, registry=registry)


def _gauge(m: Metric, registry: CollectorRegistry) -> Gauge:
    return Gauge(m.family, m.help, m.labels, registry=registry)


def _histogram(m: Metric, registry: CollectorRegistry) -> Histogram:
    return Histogram(m.family, m.help, m.labels, buckets=m.buckets, registry=registry)


class ProbeMetrics:
    """The ``regwatch_probe_*`` pull metrics; ``observe`` folds one result into them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.pulls = _counter(PROBE_PULLS, registry)
        self.errors = _counter(PROBE_ERRORS, registry)
        self.pull_duration = _histogram(PROBE_PULL_DURATION, registry)
        self.phase_duration = _histogram(PROBE_PHASE_DURATION, registry)
        self.pull_bytes = _counter(PROBE_PULL_BYTES, registry)
        self.last_success = _gauge(PROBE_LAST_SUCCESS, registry)
        self.consecutive_failures = _gauge(PROBE_CONSECUTIVE_FAILURES, registry)
        self._lock = threading.Lock()
        self._known: set[tuple[str, ...]] = set()

    def init_target(self, registry: str, region: str, auth_path: str, canary: str) -> None:
        """Create a target's series at 0 (pull counters for both results, bytes, failures streak)."""
        key = (registry, region, auth_path, canary)
        with self._lock:
            if key in self._known:
                return
            self._known.add(key)
        for result in PROBE_RESULTS:
            self.pulls.labels(*key, result)
        self.pull_bytes.labels(*key)
        self.consecutive_failures.labels(*key)

    def observe(self, result: ProbeResult) -> None:
        """Count one pull result (results of other probe kinds are ignored here)."""
        if result.kind != "pull":
            return
        lab = result.labels
        key = (lab["registry"], lab["region"], lab["auth_path"], lab["canary"])
        self.init_target(*key)
        self.pulls.labels(*key, result.result).inc()
        self.pull_duration.labels(*key, result.result).observe(result.duration_seconds)
        self.pull_bytes.labels(*key).inc(result.bytes)
        for phase in PROBE_PHASES:
            value = result.phase(phase)
            if value is not None:
                self.phase_duration.labels(*key, phase).observe(value)
        if result.ok:
            end = result.ts.timestamp() + result.duration_seconds
            self.last_success.labels(*key).set(end)
            self.consecutive_failures.labels(*key).set(0)
        else:
            assert result.reason is not None
            self.errors.labels(*key, result.reason).inc()
            self.consecutive_failures.labels(*key).inc()
