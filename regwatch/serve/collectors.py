"""What ``/metrics`` exposes besides the probe metrics: store-backed figures and serve's own health.

Figures that come from the store (SLO gauges, ``regwatch_log_*`` counters, ingest health) are
computed by the scheduled jobs, which hand a snapshot to :class:`StoreCollector`; a scrape only
turns the snapshot into fresh ``*MetricFamily`` objects and never touches the database.
"""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.core import Metric as PromMetric
from prometheus_client.registry import Collector

from regwatch import __version__, catalog
from regwatch.catalog import Metric

#: Outcomes of a notification post (catalog.NOTIFICATIONS).
NOTIFICATION_OUTCOMES: tuple[str, ...] = ("accepted", "malformed", "unauthorized", "too_large")
#: Names of the scheduled jobs (the ``job`` label of JOB_FAILURES and JOB_DURATION).
JOBS: tuple[str, ...] = ("probe", "ingest", "slo", "notifications")
#: Outcomes of a probe round (catalog.PROBE_ROUNDS).
ROUND_OUTCOMES: tuple[str, ...] = ("completed", "skipped")


@dataclass(frozen=True)
class Family:
    """Rows of one metric: label values in ``metric.labels`` order and a value.

    ``age`` rows hold a unix timestamp; the exported value is the seconds since then, computed at
    scrape time (ingest lag keeps growing while nothing new arrives).
    """

    metric: Metric
    rows: tuple[tuple[tuple[str, ...], float], ...]
    age: bool = False


class StoreCollector(Collector):
    """Expose the latest snapshot of store-derived metrics, one section per job that refreshes them."""

    def __init__(self, clock: object = time.time) -> None:
        self._sections: dict[str, tuple[Family, ...]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def update(self, section: str, families: Iterable[Family]) -> None:
        """Replace one section's families (atomically for scrapers)."""
        fams = tuple(families)
        with self._lock:
            self._sections[section] = fams

    def families(self) -> tuple[Family, ...]:
        """Every family of every section."""
        with self._lock:
            return tuple(f for fams in self._sections.values() for f in fams)

    def describe(self) -> list[PromMetric]:
        # Nothing to describe up front: the families depend on the data (and registering must
        # not call collect()).
        return []

    def collect(self) -> Iterator[PromMetric]:
        now = float(self._clock())  # type: ignore[operator]
        for fam in self.families():
            m = fam.metric
            out: CounterMetricFamily | GaugeMetricFamily
            if m.type == "counter":
                out = CounterMetricFamily(m.family, m.help, labels=m.labels)
            else:
                out = GaugeMetricFamily(m.name, m.help, labels=m.labels)
            for labels, value in fam.rows:
                out.add_metric(list(labels), max(now - value, 0.0) if fam.age else value)
            yield out


def family(
    metric: Metric, rows: Iterable[tuple[Sequence[object], float | None]], *, age: bool = False
) -> Family:
    """Build a Family, dropping rows without a value (no data is an absent series, not NaN)."""
    return Family(
        metric,
        tuple((tuple(str(v) for v in labels), float(value)) for labels, value in rows if value is not None),
        age=age,
    )


class ServeMetrics:
    """serve's own metrics: probe rounds, job failures and durations, notifications, caps, build."""

    def __init__(self, registry: CollectorRegistry) -> None:
        m = catalog
        self.probe_rounds = Counter(
            m.PROBE_ROUNDS.family, m.PROBE_ROUNDS.help, m.PROBE_ROUNDS.labels, registry=registry
        )
        self.job_failures = Counter(
            m.JOB_FAILURES.family, m.JOB_FAILURES.help, m.JOB_FAILURES.labels, registry=registry
        )
        self.job_duration = Gauge(
            m.JOB_DURATION.name, m.JOB_DURATION.help, m.JOB_DURATION.labels, registry=registry
        )
        self.notifications = Counter(
            m.NOTIFICATIONS.family, m.NOTIFICATIONS.help, m.NOTIFICATIONS.labels, registry=registry
        )
        self.series_capped = Counter(
            m.SERIES_CAPPED.family, m.SERIES_CAPPED.help, m.SERIES_CAPPED.labels, registry=registry
        )
        self.build_info = Info(m.BUILD_INFO.family, m.BUILD_INFO.help, registry=registry)
        self.build_info.info({"version": __version__, "python_version": platform.python_version()})
        # Known label values start at 0, so rate() and absent-series alerts work from the first scrape.
        for outcome in ROUND_OUTCOMES:
            self.probe_rounds.labels(outcome)
        for job in JOBS:
            self.job_failures.labels(job)
        for outcome in NOTIFICATION_OUTCOMES:
            self.notifications.labels(outcome)
