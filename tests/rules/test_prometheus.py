"""The generated rules in a real Prometheus: they load, every rule evaluates without error, and the
canary-failing alert fires — first against a static metrics page, then against `regwatch serve`
probing a real registry that has been stopped."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from rig.net import free_port, wait_until
from rig.registry import RunningRegistry
from rules_helpers import EXAMPLE, ROOT, start_prometheus

from regwatch import catalog
from regwatch.config import load_config, parse_config
from regwatch.rules import write_rules

LABELS = 'registry="main",region="eu-west-1",auth_path="ci-robot",canary="platform/canary:v1"'
# One sample of (nearly) every family the rules read, as serve would expose them.
METRICS = f"""\
# TYPE {catalog.PROBE_CONSECUTIVE_FAILURES.name} gauge
{catalog.PROBE_CONSECUTIVE_FAILURES.name}{{{LABELS}}} 5
# TYPE {catalog.PROBE_PULLS.family} counter
{catalog.PROBE_PULLS.name}{{{LABELS},result="success"}} 10
{catalog.PROBE_PULLS.name}{{{LABELS},result="failure"}} 5
# TYPE {catalog.PROBE_PULL_DURATION.name} histogram
{catalog.PROBE_PULL_DURATION.name}_bucket{{{LABELS},result="success",le="2.0"}} 9
{catalog.PROBE_PULL_DURATION.name}_bucket{{{LABELS},result="success",le="+Inf"}} 10
{catalog.PROBE_PULL_DURATION.name}_count{{{LABELS},result="success"}} 10
{catalog.PROBE_PULL_DURATION.name}_sum{{{LABELS},result="success"}} 7.5
# TYPE {catalog.LOG_PULLS.family} counter
{catalog.LOG_PULLS.name}{{registry="main",region="us-east-1",class="good",attempt="first"}} 100
# TYPE {catalog.LOG_REQUESTS.family} counter
{catalog.LOG_REQUESTS.name}{{registry="main",region="us-east-1",route="manifest",code="200"}} 100
# TYPE {catalog.INGEST_LAG.name} gauge
{catalog.INGEST_LAG.name}{{source="/var/log/registry/a.log"}} 3
"""


@pytest.fixture
def static_target() -> Iterator[str]:
    """A loopback HTTP server answering /metrics with METRICS."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = METRICS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _rule_health(prom: object) -> dict[str, tuple[str, str]]:
    out = {}
    for group in prom.api("rules")["groups"]:  # type: ignore[attr-defined]
        for r in group["rules"]:
            key = f"{group['name']}/{r['name']}/{r.get('labels', {}).get('window', '')}"
            out[key] = (r["health"], r.get("lastError", ""))
    return out


def test_checked_in_rules_load_into_prometheus(tmp_path: Path, static_target: str) -> None:
    files = sorted((ROOT / "rules").glob("*.rules.yml"))
    with start_prometheus(tmp_path, files, [static_target]) as prom:
        groups = prom.api("rules")["groups"]
        assert sorted(g["name"] for g in groups) == [
            "regwatch-slo-log-pull-success", "regwatch-slo-pull-availability", "regwatch-slo-pull-latency",
            "regwatch-symptoms",
        ]  # fmt: skip
        assert sum(len(g["rules"]) for g in groups) == 3 * 32 + 9
        assert all(g["interval"] == 60 for g in groups)


def test_every_rule_evaluates_cleanly_and_canary_failing_fires(tmp_path: Path, static_target: str) -> None:
    cfg = load_config(EXAMPLE)
    fast = dataclasses.replace(cfg, alerting=dataclasses.replace(cfg.alerting, evaluation_interval="1s"))
    write_rules(fast, tmp_path / "rules")
    files = sorted((tmp_path / "rules").glob("*.rules.yml"))
    with start_prometheus(tmp_path / "prom", files, [static_target]) as prom:
        wait_until(lambda: prom.firing("RegwatchCanaryFailing") != [], timeout=60, interval=0.2,
                   what="RegwatchCanaryFailing firing", abort=prom.abort)  # fmt: skip
        (alert,) = prom.firing("RegwatchCanaryFailing")
        assert alert["labels"] == {
            "alertname": "RegwatchCanaryFailing", "registry": "main", "region": "eu-west-1",
            "auth_path": "ci-robot", "severity": "page", "tier": "page", "window": "3m",
        }  # fmt: skip
        assert alert["annotations"]["description"].startswith(
            "The canary pull of registry main from region eu-west-1 through auth path ci-robot has failed "
            "5 probe rounds in a row"
        )

        def all_evaluated() -> bool:
            return all(h != "unknown" for h, _ in _rule_health(prom).values())

        wait_until(all_evaluated, timeout=60, interval=0.2, what="every rule evaluated", abort=prom.abort)
        bad = {k: v for k, v in _rule_health(prom).items() if v != ("ok", "")}
        assert bad == {}
        # no traffic yet in any window: ratios are 0, never NaN
        vals = prom.api('query?query=slo:sli_error:ratio_rate28d{slo="log-pull-success"}')["result"]
        assert [v["value"][1] for v in vals] == ["0"]


SERVE_CFG = """
registries:
  - name: rig
    regions: [{{name: local, url: "{url}"}}]
    canaries: [{{repository: platform/canary, reference: v1}}]
probe: {{interval_seconds: 1, jitter_seconds: 0, timeout_seconds: 3}}
store: {{path: "{db}"}}
serve: {{listen: "127.0.0.1:{port}", slo_interval_seconds: 2, ingest_interval_seconds: 1}}
slos: [{{name: canary-pulls, objective: 0.99}}]
alerting: {{evaluation_interval: 1s, consecutive_failures: 3}}
"""


def test_stopped_registry_brings_canary_failing_to_firing(
    tmp_path: Path, registry_anonymous: RunningRegistry, canary_image: object
) -> None:
    """Done when: serve probes a real registry, Prometheus evaluates the generated rules; stop the registry."""
    canary_image(registry_anonymous)  # type: ignore[operator]
    port = free_port()
    text = SERVE_CFG.format(url=registry_anonymous.url, db=tmp_path / "rw.duckdb", port=port)
    (tmp_path / "rw.yaml").write_text(text, encoding="utf-8")
    cfg = parse_config(text, str(tmp_path / "rw.yaml"))
    write_rules(cfg, tmp_path / "rules")
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "regwatch"), "--config", str(tmp_path / "rw.yaml"), "serve"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    try:
        files = sorted((tmp_path / "rules").glob("*.rules.yml"))
        with start_prometheus(tmp_path / "prom", files, [f"127.0.0.1:{port}"]) as prom:

            def serve_dead() -> str | None:
                if serve.poll() is not None:
                    return f"serve exited {serve.returncode}: {(tmp_path / 'serve.log').read_text()[-3000:]}"
                return prom.abort()

            def healthy_probes() -> bool:
                q = prom.api(f'query?query={catalog.PROBE_PULLS.name}{{result="success"}}')["result"]
                return bool(q) and not prom.firing("RegwatchCanaryFailing")

            wait_until(
                healthy_probes, timeout=90, interval=0.3, what="successful probes scraped", abort=serve_dead
            )
            registry_anonymous.stop()
            wait_until(lambda: prom.firing("RegwatchCanaryFailing") != [], timeout=90, interval=0.3,
                       what="RegwatchCanaryFailing firing", abort=serve_dead)  # fmt: skip
            (alert,) = prom.firing("RegwatchCanaryFailing")
            assert {k: alert["labels"][k] for k in ("registry", "region", "auth_path", "severity")} == {
                "registry": "rig", "region": "local", "auth_path": "anonymous", "severity": "page",
            }  # fmt: skip
            assert float(alert["value"]) >= 3
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        log.close()


def test_example_config_yaml_is_valid() -> None:
    assert yaml.safe_load(EXAMPLE.read_text())["alerting"]["runbook_base_url"].endswith("runbooks.md")
