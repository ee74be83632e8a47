"""The scheduled work of ``serve``: probe rounds, incremental ingest, and store-derived metrics.

Every job runs on apscheduler's thread pool; every database access goes through the
:class:`~regwatch.serve.writer.StoreWriter`. A job that raises is logged and counted in
``regwatch_job_failures_total{job}``, and runs again at its next time.

The probe round never overlaps itself: ``max_instances=1`` makes apscheduler skip a run while the
previous round is still going (counted in ``regwatch_probe_rounds_total{outcome="skipped"}``), and
``coalesce`` turns a backlog into one run rather than a burst.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from regwatch import catalog
from regwatch.catalog import ROUTES, Metric
from regwatch.config import Config
from regwatch.probe.matrix import Selection
from regwatch.serve.cardinality import SeriesCap
from regwatch.serve.collectors import Family, ServeMetrics, StoreCollector, family
from regwatch.serve.writer import StoreWriter, WriterStopped
from regwatch.store import Store

log = logging.getLogger("regwatch.serve")

# serve: per-source ingest health for regwatch_ingest_lines_total and regwatch_ingest_lag_seconds.
# ingest_files holds one row per file read incrementally (offsets, counts, newest timestamp).
INGEST_HEALTH_SQL = """
SELECT source, accepted, ignored, rejected, epoch(last_ts) AS last_ts
FROM ingest_files
ORDER BY source
"""


@dataclass
class Backends:
    """The library functions serve schedules; tests pass stand-ins, ``real_backends()`` the real ones."""

    run_round: Callable[[Config], Sequence[Any]]
    store_results: Callable[[Store, list[Any]], Any]
    probe_metrics: Callable[[Any], Any]  # CollectorRegistry -> object with .observe(result)
    ingest: Callable[[Store, Sequence[Any]], Any]
    store_envelope: Callable[..., int]
    evaluate_slos: Callable[..., Sequence[Any]]
    log_counters: Callable[[Store, Config], dict[str, Any]]
    envelope_error: type[Exception]
    # Store -> {(registry, region, repository, tag): last digest seen}, so tag moves survive restarts
    previous_tags: Callable[[Store], Any] | None = None


def real_backends() -> Backends:
    """The probe, ingest and SLO modules of regwatch."""
    from regwatch import probe, slo
    from regwatch.errors import IngestError
    from regwatch.ingest import IngestSpec, ingest
    from regwatch.ingest.notifications import store_envelope
    from regwatch.probe.metrics import ProbeMetrics

    def ingest_sources(store: Store, sources: Sequence[Any]) -> Any:
        specs = [IngestSpec(s.path, s.format, s.registry, s.region, s.log_format) for s in sources]
        return ingest(store, specs)

    return Backends(
        run_round=probe.run_round,
        store_results=probe.store_results,
        probe_metrics=ProbeMetrics,
        ingest=ingest_sources,
        store_envelope=store_envelope,
        evaluate_slos=slo.evaluate_slos,
        log_counters=slo.log_counters,
        envelope_error=IngestError,
        previous_tags=probe.load_previous_tags,
    )


def has_probes(cfg: Config) -> bool:
    """Whether the config has anything for a probe round to do."""
    return any(r.canaries for r in cfg.registries) or bool(cfg.replication) or bool(cfg.protected_tags)


def probe_jobs(cfg: Config) -> list[tuple[str, tuple[str, ...] | None]]:
    """The probe jobs to schedule as (job id, probe kinds; None for every kind).

    Replication probes get a job of their own: a replica that never receives the canary holds a
    replication round for up to ``timeout_seconds`` (300 s by default), which must not hold back the
    pull and tag probes that on-call pages from.
    """
    if not has_probes(cfg):
        return []
    if not cfg.replication:
        return [("probe", None)]
    jobs: list[tuple[str, tuple[str, ...] | None]] = []
    if any(r.canaries for r in cfg.registries) or cfg.protected_tags:
        jobs.append(("probe", ("pull", "tag")))
    jobs.append(("replication", ("replication",)))
    return jobs


class Jobs:
    """The job bodies and their schedule."""

    def __init__(
        self,
        cfg: Config,
        writer: StoreWriter,
        metrics: ServeMetrics,
        collector: StoreCollector,
        probe_metrics: Any,
        backends: Backends,
        cap: SeriesCap,
    ) -> None:
        self.cfg = cfg
        self.writer = writer
        self.metrics = metrics
        self.collector = collector
        self.probe_metrics = probe_metrics
        self.backends = backends
        self.cap = cap
        self.stopping = threading.Event()
        self.first_round_done = threading.Event()
        self.abandoned = threading.Event()  # a probe round was left running at stop
        self.scheduler: BackgroundScheduler | None = None
        init = getattr(probe_metrics, "init_config", None)
        if callable(init):
            init(cfg)  # replication and tag-move counters exist at 0 before the first round

    # -- scheduling -------------------------------------------------------------------------------

    def start(self) -> BackgroundScheduler:
        """Schedule every job (each runs once right away) and start the scheduler."""
        sched = BackgroundScheduler(executors={"default": ThreadPoolExecutor(4)}, timezone=UTC, daemon=True)
        now = datetime.now(UTC)
        p = self.cfg.probe
        for job_id, kinds in probe_jobs(self.cfg):
            sched.add_job(
                self.run_probe_job, IntervalTrigger(seconds=p.interval_seconds, jitter=p.jitter_seconds or None),
                args=(job_id, kinds), id=job_id, name=job_id, max_instances=1, coalesce=True,
                next_run_time=now, misfire_grace_time=max(int(p.interval_seconds), 1),
            )  # fmt: skip
        s = self.cfg.serve
        if self.cfg.logs:
            sched.add_job(
                self.run_ingest_job, IntervalTrigger(seconds=s.ingest_interval_seconds),
                id="ingest", name="ingest", max_instances=1, coalesce=True, next_run_time=now,
                misfire_grace_time=max(int(s.ingest_interval_seconds), 1),
            )  # fmt: skip
        sched.add_job(
            self.run_slo_job, IntervalTrigger(seconds=s.slo_interval_seconds),
            id="slo", name="slo", max_instances=1, coalesce=True, next_run_time=now,
            misfire_grace_time=max(int(s.slo_interval_seconds), 1),
        )  # fmt: skip
        sched.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
        sched.start()
        self.scheduler = sched
        return sched

    def stop(self) -> None:
        """Stop scheduling; a probe round still pulling is abandoned, DB work is left to the writer."""
        self.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _run_soon(self, job_id: str) -> None:
        sched = self.scheduler
        if sched is not None and sched.running and not self.stopping.is_set():
            try:
                sched.modify_job(job_id, next_run_time=datetime.now(UTC))
            except Exception as exc:  # noqa: BLE001 - only an optimisation
                log.debug("cannot reschedule %s: %s", job_id, exc)

    def _on_max_instances(self, event: JobSubmissionEvent) -> None:
        if event.job_id in ("probe", "replication"):
            self.metrics.probe_rounds.labels("skipped").inc()
            log.warning("%s round skipped: the previous round is still running", event.job_id)

    def _guard(self, job: str, body: Callable[[], None]) -> None:
        start = time.monotonic()
        try:
            body()
        except WriterStopped:
            log.info("%s job: cancelled, serve is stopping", job)
        except Exception as exc:  # noqa: BLE001 - a failing job is counted, never fatal
            if self.stopping.is_set():
                return
            self.metrics.job_failures.labels(job).inc()
            log.error("%s job failed: %s", job, _one_line(exc))
        finally:
            self.metrics.job_duration.labels(job).set(time.monotonic() - start)

    # -- probe ------------------------------------------------------------------------------------

    def run_probe_job(self, job: str = "probe", kinds: tuple[str, ...] | None = None) -> None:
        """One probe round (of ``kinds``, None for every kind): pull, export, store."""
        self._guard(job, lambda: self.probe_round(kinds))

    def probe_round(self, kinds: tuple[str, ...] | None = None) -> None:
        """Run a round on a helper thread so that stopping need not wait for slow pulls."""
        box: dict[str, Any] = {}
        done = threading.Event()
        kwargs: dict[str, Any] = {}
        if kinds is not None:
            kwargs["selection"] = Selection(kinds=kinds)
        if (
            self.cfg.protected_tags
            and self.backends.previous_tags is not None
            and (kinds is None or "tag" in kinds)
        ):
            kwargs["previous_tags"] = self.writer.call("probe", self.backends.previous_tags)

        def work() -> None:
            try:
                box["results"] = list(self.backends.run_round(self.cfg, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - re-raised on the job thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name="regwatch-probe-round", daemon=True).start()
        while not done.wait(0.05):
            if self.stopping.is_set():
                self.abandoned.set()
                log.info("probe round abandoned: serve is stopping")
                return
        if "error" in box:
            raise box["error"]
        results = box["results"]
        for r in results:
            self.probe_metrics.observe(r)
        self.writer.call("probe", lambda store: self.backends.store_results(store, results), essential=True)
        self.metrics.probe_rounds.labels("completed").inc()
        failed = sum(1 for r in results if getattr(r, "result", "success") != "success")
        log.info("%s round: %d probes, %d failed", "/".join(kinds or ("probe",)), len(results), failed)
        if not self.first_round_done.is_set():
            self.first_round_done.set()
            self._run_soon("slo")  # SLO gauges from the first round now, not a minute later

    # -- ingest and store-derived metrics -------------------------------------------------------------

    def run_ingest_job(self) -> None:
        """Ingest what the config's log files gained since last time, then refresh log metrics."""
        self._guard("ingest", self.ingest)

    def ingest(self) -> None:
        """The ingest job body."""

        def work(store: Store) -> list[Family]:
            self.backends.ingest(store, list(self.cfg.logs))
            return self.log_families(store)

        self._publish("logs", self.writer.call("ingest", work))

    def run_slo_job(self) -> None:
        """Recompute SLO gauges and log-derived counters from the store."""
        self._guard("slo", self.slo)

    def slo(self) -> None:
        """The SLO job body."""
        at = datetime.now(UTC)

        def work(store: Store) -> tuple[list[Family], list[Family]]:
            statuses = self.backends.evaluate_slos(store, self.cfg, at=at) if self.cfg.slos else []
            return slo_families(statuses), self.log_families(store)

        slo_fams, log_fams = self.writer.call("slo", work)
        self._publish("slo", slo_fams)
        self._publish("logs", log_fams)

    def _publish(self, section: str, fams: list[Family]) -> None:
        self.collector.update(section, fams)

    def log_families(self, store: Store) -> list[Family]:
        """Log counters and ingest health from the store, capped per metric (runs on the writer)."""
        out: list[Family] = []
        counters = self.backends.log_counters(store, self.cfg)
        for name, rows in counters.items():
            metric = catalog.BY_NAME.get(name)
            if metric is None:
                log.warning("log counters: %s is not in the catalogue; not exported", name)
                continue
            out.append(self._capped(metric, _label_rows(metric, rows)))
        health = store.fetchall(INGEST_HEALTH_SQL)
        lines = [
            ((src, result), float(n))
            for src, accepted, ignored, rejected, _ in health
            for result, n in (("accepted", accepted), ("ignored", ignored), ("rejected", rejected))
        ]
        out.append(self._capped(catalog.INGEST_LINES, lines))
        lag = [((src,), float(ts)) for src, *_, ts in health if ts is not None]
        # The cap keeps the newest timestamp of folded sources (max), i.e. the smallest lag.
        capped = self.cap.apply(catalog.INGEST_LAG, lag)
        self._count_capped(catalog.INGEST_LAG, capped.folded)
        out.append(Family(catalog.INGEST_LAG, capped.rows, age=True))
        return out

    def _capped(self, metric: Metric, rows: Iterable[tuple[Sequence[object], float]]) -> Family:
        capped = self.cap.apply(metric, rows)
        self._count_capped(metric, capped.folded)
        return Family(metric, capped.rows)

    def _count_capped(self, metric: Metric, n: int) -> None:
        if n:
            self.metrics.series_capped.labels(metric.name).inc(n)
            log.warning("%s: %d label set(s) folded into %s", metric.name, n, catalog.OTHER_LABEL)


def _label_rows(metric: Metric, rows: Iterable[Sequence[Any]]) -> list[tuple[tuple[object, ...], float]]:
    """Turn log-counter rows (label values in the metric's label order, then the value) into pairs."""
    out = []
    route = metric.labels.index("route") if "route" in metric.labels else None
    for row in rows:
        labels = tuple(row[: len(metric.labels)])
        if route is not None and labels[route] not in ROUTES:  # a closed vocabulary
            labels = (*labels[:route], "other", *labels[route + 1 :])
        out.append((labels, float(row[len(metric.labels)] or 0)))
    return out


def slo_families(statuses: Iterable[Any]) -> list[Family]:
    """SLO gauges from ``evaluate_slos`` results (SloStatus objects or their dicts)."""
    objective, sli, budget, burn = [], [], [], []
    for st in statuses:
        d = st.to_dict() if hasattr(st, "to_dict") else st
        name = d["slo"]
        objective.append(((name,), d.get("objective")))
        sli.append(((name,), d.get("sli_value")))
        budget.append(((name,), d.get("error_budget_remaining_ratio")))
        rates = d.get("burn_rates") or {}
        burn += [((name, w), rates.get(w)) for w in catalog.BURN_WINDOWS]
    return [
        family(catalog.SLO_OBJECTIVE, objective),
        family(catalog.SLO_SLI, sli),
        family(catalog.SLO_BUDGET_REMAINING, budget),
        family(catalog.SLO_BURN_RATE, burn),
    ]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
