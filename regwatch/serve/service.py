"""The ``serve`` process put together: store writer, scheduler, metrics, HTTP server, shutdown."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from regwatch.config import Config
from regwatch.errors import ConfigError, RegwatchError, StoreError
from regwatch.serve.app import App, MetricsCache, Notifications, ServeHTTPServer, parse_listen
from regwatch.serve.cardinality import SeriesCap
from regwatch.serve.collectors import ServeMetrics, StoreCollector
from regwatch.serve.jobs import Backends, Jobs, has_probes, real_backends
from regwatch.serve.webconfig import WebConfig, load_web_config
from regwatch.serve.writer import StoreWriter
from regwatch.store import DEFAULT_WAIT_SECONDS, Store

log = logging.getLogger("regwatch.serve")

#: Seconds SIGTERM may take, end to end (the issue's promise; Kubernetes' default grace is 30).
STOP_TIMEOUT = 10.0


class Service:
    """One running exporter: call ``start()``, then ``stop()``; ``url`` says where it listens."""

    def __init__(
        self,
        cfg: Config,
        db_path: str,
        *,
        listen: str | None = None,
        web_config: WebConfig | None = None,
        db_wait: float = DEFAULT_WAIT_SECONDS,
        backends: Backends | None = None,
        metrics_max_age: float = 1.0,
        batch_delay: float = 0.2,
    ) -> None:
        self.cfg = cfg
        self.db_path = db_path
        self.listen = listen or cfg.serve.listen
        try:
            self.host, self.port = parse_listen(self.listen)
        except ValueError as exc:
            raise ConfigError(f"serve.listen: {exc}") from None
        self.web_config = web_config if web_config is not None else load_web_config(cfg.serve.web_config_file)
        self.backends = backends or real_backends()
        self.registry = CollectorRegistry()
        for c in (ProcessCollector, PlatformCollector, GCCollector):
            c(registry=self.registry)
        self.metrics = ServeMetrics(self.registry)
        self.probe_metrics = self.backends.probe_metrics(self.registry)
        self.collector = StoreCollector()
        self.registry.register(self.collector)
        self.writer = StoreWriter(
            db_path, wait_seconds=db_wait, store_notes=self._store_notes, batch_delay=batch_delay,
            on_dropped=lambda n, exc: self.metrics.job_failures.labels("notifications").inc(n),
        )  # fmt: skip
        self.jobs = Jobs(
            cfg, self.writer, self.metrics, self.collector, self.probe_metrics, self.backends,
            SeriesCap(cfg.serve.max_series_per_metric),
        )  # fmt: skip
        self.cache = MetricsCache(self.registry, max_age=metrics_max_age)
        self._store_ok = threading.Event()
        self._stopping = threading.Event()
        self._http: ServeHTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP server (after ``start``)."""
        assert self._http is not None, "not started"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self._http.scheme}://{host}:{self._http.port}"

    def start(self) -> None:
        """Open the store once (creating or migrating it), start HTTP, then the scheduler."""
        secret = self.cfg.serve.notifications.authorization
        notes = Notifications(
            max_body_bytes=self.cfg.serve.notifications.max_body_bytes,
            authorization=secret.reveal() if secret is not None else None,
            enqueue=self.writer.enqueue_notification,
        )
        ssl_context = self.web_config.ssl_context()
        app = App(
            self.cache, self.metrics, self.ready, notes,
            basic_auth=self.web_config.authenticator(), headers=self.web_config.headers,
        )  # fmt: skip
        self.writer.start()
        self.writer.call("open", lambda store: store.schema_version(), essential=True)
        self._store_ok.set()
        try:
            self._http = ServeHTTPServer(self.host, self.port, app, ssl_context=ssl_context)
        except OSError as exc:
            self.writer.stop(STOP_TIMEOUT)
            raise RegwatchError(f"serve.listen: cannot listen on {self.listen}: {exc.strerror}") from None
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.2}, name="regwatch-http", daemon=True
        )
        self._http_thread.start()
        self.jobs.start()
        log.info("listening on %s/metrics", self.url)

    def ready(self) -> tuple[bool, str]:
        """Readiness: the store opened and (when there are probes) the first round finished."""
        if self._stopping.is_set():
            return False, "stopping"
        if not self._store_ok.is_set():
            return False, "store not open yet"
        if has_probes(self.cfg) and not self.jobs.first_round_done.is_set():
            return False, "waiting for the first probe round"
        return True, "ready"

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop scheduling, stop HTTP, finish the store writes; False when writes outlived ``timeout``."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self.jobs.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        finished = self.writer.stop(max(deadline - time.monotonic(), 0.1))
        if not finished:
            log.error("store writes did not finish within %gs", timeout)
        return finished

    def _store_notes(self, store: Store, notes: list[tuple[bytes, str | None, str | None]]) -> None:
        stored = 0
        for body, registry, region in notes:
            try:
                stored += self.backends.store_envelope(
                    store, body, registry=registry, region=region, source="notifications"
                )
            except Exception as exc:  # noqa: BLE001 - one bad envelope must not lose the others
                self.metrics.job_failures.labels("notifications").inc()
                log.error(
                    "notifications: envelope not stored: %s", str(exc).splitlines()[0] if str(exc) else exc
                )
        log.debug("notifications: %d envelope(s), %d event(s) stored", len(notes), stored)


def run(
    cfg: Config,
    db_path: str,
    *,
    listen: str | None = None,
    web_config_file: str | None = None,
    db_wait: float = DEFAULT_WAIT_SECONDS,
    duration: float | None = None,
    on_ready: Callable[[Service], Any] | None = None,
    stop: threading.Event | None = None,
    backends: Backends | None = None,
) -> bool:
    """Run the exporter until SIGTERM/SIGINT, ``stop`` is set, or ``duration`` seconds have passed.

    ``on_ready(service)`` is called once it listens (``service.url`` is where). Signals are only
    handled when called from the main thread. Raises StoreError when store writes could not be
    finished within STOP_TIMEOUT. Returns True when a probe round was abandoned mid-flight: its
    pulls still run on worker threads that interpreter exit would wait for (up to the probe
    timeout), so a process that wants to exit now should ``os._exit`` (the store is closed).
    """
    web_config = load_web_config(web_config_file or cfg.serve.web_config_file)
    service = Service(cfg, db_path, listen=listen, web_config=web_config, db_wait=db_wait, backends=backends)
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        service.start()
        if on_ready is not None:
            on_ready(service)
        deadline = None if duration is None else time.monotonic() + duration
        while not stop.is_set():
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                break
            stop.wait(left)
        log.info("stopping")
    finally:
        finished = service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not finished:
        raise StoreError(f"{db_path}: store writes did not finish within {STOP_TIMEOUT:g}s of stopping")
    return service.jobs.abandoned.is_set()


def serve_for(cfg: Config, db_path: str, seconds: float | None, **kwargs: Any) -> bool:
    """Run the exporter for ``seconds`` (None: until Ctrl-C or SIGTERM); for ``regwatch demo``.

    Keyword arguments are those of ``run`` (``listen``, ``on_ready``, ...); so is the result.
    """
    return run(cfg, db_path, duration=seconds, **kwargs)
