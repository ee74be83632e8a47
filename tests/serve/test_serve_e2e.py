"""``regwatch serve`` as a real subprocess: probes a real registry, scraped by a real Prometheus,
fed by a real registry's notifications, stopped with SIGTERM in the middle of a probe round."""

from __future__ import annotations

import json
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bcrypt
import prometheus_client
import pytest
from click.testing import CliRunner
from rig import skopeo
from rig.net import LOOPBACK, free_port, wait_until
from rig.registry import RunningRegistry
from rig.tlsca import CertAuthority
from servekit import promtool_check_metrics, start_prometheus, start_serve

from regwatch.cli import cli
from regwatch.store import connect

CANARY = "platform/canary:v1"


def _config(reg_url: str, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "registries": [
            {
                "name": "rig",
                "regions": [{"name": "local", "url": reg_url}],
                "canaries": [{"repository": "platform/canary", "reference": "v1"}],
            }
        ],
        "probe": {"interval_seconds": 2, "jitter_seconds": 0, "timeout_seconds": 10},
        "serve": {"slo_interval_seconds": 2, "ingest_interval_seconds": 1},
        "slos": [{"name": "canary-pulls", "sli": "pull_success", "source": "probes", "objective": 0.99}],
    }
    cfg.update(extra)
    return cfg


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the store from this (another) process while serve runs: it only holds the file per batch."""
    with connect(str(db), read_only=True, wait_seconds=10) as store:
        return store.fetchall(sql)


def test_prometheus_scrapes_the_probe_series(
    tmp_path: Path, registry_anonymous: RunningRegistry, canary_image: Callable[..., Any]
) -> None:
    canary_image(registry_anonymous)
    logs = [{"path": str(registry_anonymous.log_path), "format": "distribution", "registry": "rig",
             "region": "local"}]  # fmt: skip
    with start_serve(tmp_path, _config(registry_anonymous.url, logs=logs)) as serve:
        with start_prometheus(tmp_path, [serve.target]) as prom:
            got = prom.wait_for('regwatch_probe_pulls_total{result="success"} > 0')
            assert [r["metric"] for r in got] == [
                {
                    "__name__": "regwatch_probe_pulls_total",
                    "auth_path": "anonymous",
                    "canary": CANARY,
                    "instance": serve.target,
                    "job": "regwatch",
                    "region": "local",
                    "registry": "rig",
                    "result": "success",
                }
            ]
            assert prom.query('regwatch_probe_pulls_total{result="failure"}')[0]["value"][1] == "0"
            got = prom.wait_for('regwatch_slo_sli_ratio{slo="canary-pulls"} == 1')
            assert got[0]["metric"]["slo"] == "canary-pulls"
            objective = prom.query('regwatch_slo_objective_ratio{slo="canary-pulls"}')
            assert objective[0]["value"][1] == "0.99"
            # the registry's own access log, ingested incrementally by serve, shows the probes' pulls
            got = prom.wait_for('regwatch_log_requests_total{route="manifest",code="200"} > 0')
            assert {k: got[0]["metric"][k] for k in ("registry", "region", "route", "code")} == {
                "registry": "rig", "region": "local", "route": "manifest", "code": "200"}  # fmt: skip
            got = prom.wait_for('regwatch_ingest_lines_total{result="accepted"} > 0')
            assert got[0]["metric"]["source"] == str(registry_anonymous.log_path)
            up = prom.query("up")
            assert [(u["metric"]["instance"], u["value"][1]) for u in up] == [(serve.target, "1")]
        body = serve.metrics_text()
        check = promtool_check_metrics(body)
        assert (check.returncode, check.stdout, check.stderr) == (0, "", "")
        assert f'canary="{CANARY}"' in body and "regwatch_build_info{" in body
        rows = _rows(serve.db_path, "SELECT DISTINCT registry, region, canary, result FROM probe_results")
        assert rows == [("rig", "local", CANARY, "success")]
        assert serve.stop() == 0


def test_registry_notifications_land_in_audit_events(
    tmp_path: Path, make_registry: Callable[..., RunningRegistry], canary_layout: Any
) -> None:
    token = "Bearer notify-7f3a"
    cfg = {"serve": {"notifications": {"authorization_env": "REGWATCH_NOTIFY_AUTH"}}}
    with start_serve(tmp_path / "serve", cfg, env={"REGWATCH_NOTIFY_AUTH": token}) as serve:
        reg = make_registry(
            notifications_url=f"{serve.url}/v1/notifications?registry=rig&region=local",
            notifications_headers={"Authorization": token},
        )
        skopeo.push(canary_layout.layout_dir, reg, "platform/canary", "v1")
        skopeo.pull(reg, "platform/canary", "v1", tmp_path / "pulled")
        expected_digests = {canary_layout.manifest_digest}

        def manifest_events() -> list[tuple[Any, ...]]:
            return _rows(
                serve.db_path,
                "SELECT action, registry, region, repository, tag, digest, source FROM audit_events "
                "WHERE media_type LIKE '%manifest%' ORDER BY action",
            )

        wait_until(lambda: {r[0] for r in manifest_events()} == {"push", "pull"}, timeout=30,
                   what="push and pull events in audit_events")  # fmt: skip
        rows = manifest_events()
        assert {r[0] for r in rows} == {"pull", "push"}
        for _action, registry, region, repository, tag, digest, source in rows:
            assert (registry, region, repository, source) == (
                "rig",
                "local",
                "platform/canary",
                "notifications",
            )
            assert digest in expected_digests
            assert tag in ("v1", None)
        assert (serve.sample("regwatch_notifications_total", outcome="accepted") or 0) >= 2
        assert serve.sample("regwatch_notifications_total", outcome="unauthorized") == 0
        assert serve.sample("regwatch_job_failures_total", task="notifications") == 0
        assert serve.stop() == 0


@pytest.fixture
def blackhole() -> Iterator[tuple[int, threading.Event]]:
    """A TCP server that accepts connections and never answers: a probe round that hangs."""
    srv = socket.create_server((LOOPBACK, 0))
    accepted = threading.Event()
    conns: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            accepted.set()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join(5)
    for c in conns:
        c.close()
    srv.close()


def test_sigterm_during_a_probe_round_exits_0_and_keeps_queued_writes(
    tmp_path: Path, blackhole: tuple[int, threading.Event]
) -> None:
    port, accepted = blackhole
    cfg = _config(f"http://{LOOPBACK}:{port}", probe={"interval_seconds": 3600, "timeout_seconds": 120})
    serve = start_serve(tmp_path, cfg, wait="alive")
    try:
        assert accepted.wait(30), "the probe round never connected"
        r = serve.get("/readyz")
        assert (r.status_code, r.text) == (503, "waiting for the first probe round\n")
        envelope = {"events": [{"id": "sigterm-1", "timestamp": "2026-11-20T10:00:00Z", "action": "push",
                                "target": {"repository": "platform/canary", "tag": "v1",
                                           "mediaType": "application/vnd.oci.image.manifest.v1+json"}}]}  # fmt: skip
        assert serve.post("/v1/notifications?registry=rig", data=json.dumps(envelope)).status_code == 200
        serve.signal(signal.SIGTERM)
        assert serve.wait(timeout=10) == 0
    finally:
        serve.stop()
    log = serve.log_text()
    assert "probe round abandoned: serve is stopping" in log
    assert "Traceback" not in log
    assert _rows(serve.db_path, "SELECT event_id, action, registry FROM audit_events") == [
        ("sigterm-1", "push", "rig")
    ]


def test_basic_auth_and_tls_scraped_by_prometheus(tmp_path: Path) -> None:
    ca = CertAuthority.create(tmp_path / "ca")
    cert, key = ca.issue_server_cert(tmp_path / "tls", [LOOPBACK, "localhost"])
    hashed = bcrypt.hashpw(b"prom-pass", bcrypt.gensalt(4)).decode()
    web = {"tls_server_config": {"cert_file": str(cert), "key_file": str(key)},
           "basic_auth_users": {"prometheus": hashed}}  # fmt: skip
    with start_serve(tmp_path / "serve", {}, web_config=web, ca_file=ca.ca_file,
                     auth=("prometheus", "prom-pass")) as serve:  # fmt: skip
        assert serve.url.startswith("https://")
        assert serve.get("/metrics", auth=None).status_code == 401
        with start_prometheus(tmp_path, [serve.target], scheme="https", basic_auth=("prometheus", "prom-pass"),
                              ca_file=ca.ca_file) as prom:  # fmt: skip
            got = prom.wait_for("regwatch_build_info")
            assert got[0]["metric"]["instance"] == serve.target
            assert prom.query("up")[0]["value"][1] == "1"
        assert serve.stop() == 0


def test_listen_must_name_a_host() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--listen", ":9817"])
    assert result.exit_code == 2
    assert (
        "no host in ':9817': use 127.0.0.1:9817 for this machine only, 0.0.0.0:9817 for all interfaces"
        in (result.output)
    )
    result = runner.invoke(cli, ["serve", "--listen", "localhost"])
    assert result.exit_code == 2 and "not HOST:PORT" in result.output


def test_serve_runs_for_a_while_and_stops_by_itself(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "c.yaml").write_text(f"serve: {{listen: '127.0.0.1:{port}'}}\n")
    runner = CliRunner()
    try:
        result = runner.invoke(
            cli, ["--config", str(tmp_path / "c.yaml"), "--db", str(tmp_path / "s.duckdb"), "serve",
                  "--stop-after", "1s"],
        )  # fmt: skip
    finally:
        # the command turns *_created samples off process-wide; other suites' expositions expect them
        prometheus_client.enable_created_metrics()
    assert result.exit_code == 0, result.output
    assert f"regwatch serve: metrics at http://127.0.0.1:{port}/metrics\n" in result.output
    assert result.output.endswith("regwatch serve: stopped\n")
