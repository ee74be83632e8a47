"""Stand-ins for the serve tests: an in-process exporter whose probe/ingest/SLO functions are controllable.

The HTTP server, scheduler, store writer, caps and web config are all real; only the library
functions serve schedules are replaced, so each test controls exactly what a round returns, how
long it takes and whether it fails. End-to-end tests (test_serve_e2e.py) use the real ones.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families
from rig.net import wait_until

from regwatch.config import Config
from regwatch.errors import IngestError
from regwatch.probe.metrics import ProbeMetrics
from regwatch.probe.result import ProbeResult, store_results
from regwatch.serve import Service
from regwatch.serve.jobs import Backends
from regwatch.store import Store

T0 = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)

BASE_CONFIG = """
registries:
  - name: prod
    regions: [{name: eu, url: "http://127.0.0.1:9"}]
    canaries: [{repository: platform/canary, reference: v1}]
probe: {interval_seconds: 3600, jitter_seconds: 0}
serve: {slo_interval_seconds: 3600, ingest_interval_seconds: 3600}
"""


def pull_result(result: str = "success", reason: str | None = None, duration: float = 0.3) -> ProbeResult:
    """A pull result for prod/eu/anonymous/platform/canary:v1."""
    return ProbeResult(
        kind="pull", registry="prod", region="eu", auth_path="anonymous", canary="platform/canary:v1",
        repository="platform/canary", reference="v1", ts=T0, result=result, duration_seconds=duration,
        reason=reason, bytes=1000, phases={"auth": 0.01, "manifest": 0.02},
    )  # fmt: skip


def store_envelope_standin(
    store: Store, body: bytes, *, registry: str | None = None, region: str | None = None,
    source: str = "notifications",
) -> int:  # fmt: skip
    """Store each event's id, action and repository (what the real one does, minus the details)."""
    try:
        events = json.loads(body)["events"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"{source}: malformed envelope: {exc}") from None
    for ev in events:
        store.execute(
            "INSERT OR IGNORE INTO audit_events (event_id, ts, action, registry, region, repository, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [ev["id"], ev["timestamp"][:19].replace("T", " "), ev["action"], registry, region,
             ev.get("target", {}).get("repository"), source],
        )  # fmt: skip
    return len(events)


@dataclass
class StandIns:
    """Controllable replacements for the probe, ingest and SLO functions."""

    results: list[ProbeResult] = field(default_factory=lambda: [pull_result()])
    gate: threading.Event | None = None  # when set, a round waits for it
    fail_rounds: int = 0  # the next N rounds raise
    rounds_started: int = 0
    running: int = 0
    max_running: int = 0
    round_started: threading.Event = field(default_factory=threading.Event)
    slo_rows: list[dict[str, Any]] = field(default_factory=list)
    log_rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    ingests: int = 0
    fail_slo: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run_round(self, cfg: Config) -> list[ProbeResult]:
        with self.lock:
            self.rounds_started += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            fail = self.fail_rounds > 0
            self.fail_rounds -= int(fail)
        self.round_started.set()
        try:
            if self.gate is not None:
                self.gate.wait(30)
            if fail:
                raise RuntimeError("registry exploded\nsecond line")
            return list(self.results)
        finally:
            with self.lock:
                self.running -= 1

    def ingest(self, store: Store, specs: Any) -> list[Any]:
        self.ingests += 1
        return []

    def evaluate_slos(self, store: Store, cfg: Config, *, at: datetime) -> list[dict[str, Any]]:
        if self.fail_slo:
            raise ValueError("slo sql broke")
        return list(self.slo_rows)

    def log_counters(self, store: Store, cfg: Config) -> dict[str, list[tuple[Any, ...]]]:
        return dict(self.log_rows)

    def backends(self) -> Backends:
        return Backends(
            run_round=self.run_round,
            store_results=store_results,
            probe_metrics=ProbeMetrics,
            ingest=self.ingest,
            store_envelope=store_envelope_standin,
            evaluate_slos=self.evaluate_slos,
            log_counters=self.log_counters,
            envelope_error=IngestError,
        )


class Exporter:
    """A started in-process Service plus HTTP helpers."""

    def __init__(self, service: Service, standins: StandIns, session: requests.Session) -> None:
        self.service = service
        self.standins = standins
        self.http = session
        self.url = service.url

    def get(self, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        kw.setdefault("verify", self.http.verify)  # explicit: REQUESTS_CA_BUNDLE would beat session.verify
        return self.http.get(self.url + path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        kw.setdefault("verify", self.http.verify)
        return self.http.post(self.url + path, **kw)

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample on /metrics keyed by (name, sorted labels); the render cache is bypassed."""
        self.service.cache.max_age = 0
        text = self.get("/metrics", headers={"Accept": "text/plain"}).text
        out = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
        return out

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples().get((name, tuple(sorted(labels.items()))))

    def wait_value(self, name: str, expected: float, timeout: float = 10.0, **labels: str) -> None:
        wait_until(lambda: self.value(name, **labels) == expected, timeout=timeout,
                   what=f"{name}{labels} == {expected}")  # fmt: skip
