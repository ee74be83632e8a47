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
    REPLICATION_LAG,
    REPLICATION_LAST_LAG,
    REPLICATION_PROBES,
    TAG_DIGEST_CHANGES,
    TAG_PRESENT,
    Metric,
)
from regwatch.config import Config
from regwatch.probe.result import ProbeResult


def _counter(m: Metric, registry: CollectorRegistry) -> Counter:
    return Counter(m.family, m.help, m.labels, registry=registry)


def _gauge(m: Metric, registry: CollectorRegistry) -> Gauge:
    return Gauge(m.family, m.help, m.labels, registry=registry)


def _histogram(m: Metric, registry: CollectorRegistry) -> Histogram:
    return Histogram(m.family, m.help, m.labels, buckets=m.buckets, registry=registry)


class ProbeMetrics:
    """The probe metrics (pull, replication, tag); ``observe`` folds one result into them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.pulls = _counter(PROBE_PULLS, registry)
        self.errors = _counter(PROBE_ERRORS, registry)
        self.pull_duration = _histogram(PROBE_PULL_DURATION, registry)
        self.phase_duration = _histogram(PROBE_PHASE_DURATION, registry)
        self.pull_bytes = _counter(PROBE_PULL_BYTES, registry)
        self.last_success = _gauge(PROBE_LAST_SUCCESS, registry)
        self.consecutive_failures = _gauge(PROBE_CONSECUTIVE_FAILURES, registry)
        self.replication_lag = _histogram(REPLICATION_LAG, registry)
        self.replication_last_lag = _gauge(REPLICATION_LAST_LAG, registry)
        self.replication_probes = _counter(REPLICATION_PROBES, registry)
        self.tag_present = _gauge(TAG_PRESENT, registry)
        self.tag_digest_changes = _counter(TAG_DIGEST_CHANGES, registry)
        self._lock = threading.Lock()
        self._known: set[tuple[str, ...]] = set()

    def init_config(self, cfg: Config) -> None:
        """Create the counters of every configured replication target and protected tag at 0.

        A counter that appears already at 1 (a tag move seen in the first round after a restart)
        is invisible to ``increase()``; series that exist from the start are not.
        """
        from regwatch.probe.replication import replication_targets
        from regwatch.probe.tags import tag_jobs

        for t in replication_targets(cfg, None):
            for region in t.targets:
                self.init_replication(t.registry, t.from_region.name, region.name, t.spec.repository)
        for _, pt, region, _, tag in tag_jobs(cfg, None):
            self.tag_digest_changes.labels(pt.registry, region.name, pt.repository, tag)

    def init_replication(self, registry: str, from_region: str, region: str, repository: str) -> None:
        """Create a replication target's counters (both results) at 0."""
        for result in PROBE_RESULTS:
            self.replication_probes.labels(registry, from_region, region, repository, result)

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
        """Fold one probe result of any kind into the metrics."""
        if result.kind == "replication":
            self._observe_replication(result)
            return
        if result.kind == "tag":
            self._observe_tag(result)
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

    def _observe_replication(self, result: ProbeResult) -> None:
        key = (result.registry, result.from_region or "", result.region, result.repository)
        self.init_replication(*key)
        self.replication_probes.labels(*key, result.result).inc()
        if result.lag_seconds is not None:
            self.replication_lag.labels(*key).observe(result.lag_seconds)
            self.replication_last_lag.labels(*key).set(result.lag_seconds)
        elif result.reason == "replication_timeout" and result.timeout_seconds is not None:
            # never arrived: the lag is at least the timeout, and an alert on the gauge must see that
            self.replication_last_lag.labels(*key).set(result.timeout_seconds)

    def _observe_tag(self, result: ProbeResult) -> None:
        key = (result.registry, result.region, result.repository, result.tag or result.reference)
        changes = self.tag_digest_changes.labels(*key)  # created at 0 on first sight
        if result.present is None:
            return  # the check failed: presence unknown, the gauge keeps its last value
        self.tag_present.labels(*key).set(1 if result.present else 0)
        if result.changed:
            changes.inc()
