"""The exporter in-process over real HTTP: endpoints, readiness, metrics, notifications, jobs."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import requests
from rig.net import wait_until
from serve.standins import BASE_CONFIG, Exporter, StandIns

from regwatch import catalog
from regwatch.store import connect

Make = Callable[..., Exporter]

ENVELOPE = {
    "events": [
        {
            "id": "ev-1",
            "timestamp": "2026-11-20T10:00:00.123Z",
            "action": "push",
            "target": {"repository": "platform/canary", "tag": "v1"},
        },
        {
            "id": "ev-2",
            "timestamp": "2026-11-20T10:00:01Z",
            "action": "pull",
            "target": {"repository": "platform/canary"},
        },
    ]
}


def _audit(ex: Exporter) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """audit_events, read through the exporter's own writer (one process may not open the file twice
    with different modes; other processes can, see test_store_is_closed_between_batches)."""
    sql = "SELECT event_id, action, registry, region, repository FROM audit_events ORDER BY event_id"
    return [tuple(r) for r in ex.service.writer.call("test", lambda store: store.fetchall(sql))]  # type: ignore[misc]


def test_healthz_index_404_and_405(make_exporter: Make) -> None:
    ex = make_exporter()
    r = ex.get("/healthz")
    assert (r.status_code, r.text) == (200, "ok\n")
    assert ex.get("/").text.startswith("regwatch exporter\n")
    assert ex.get("/nope").status_code == 404
    r = ex.get("/v1/notifications")
    assert (r.status_code, r.headers["Allow"]) == (405, "POST")
    assert ex.post("/metrics", data=b"x").status_code == 404


def test_ready_only_after_the_first_probe_round(make_exporter: Make) -> None:
    gate = threading.Event()
    standins = StandIns(gate=gate)
    ex = make_exporter(standins=standins)
    assert standins.round_started.wait(10)
    r = ex.get("/readyz")
    assert (r.status_code, r.text) == (503, "waiting for the first probe round\n")
    gate.set()
    wait_until(lambda: ex.get("/readyz").status_code == 200, timeout=10, what="ready")
    assert ex.get("/readyz").text == "ready\n"
    key = {"registry": "prod", "region": "eu", "auth_path": "anonymous", "canary": "platform/canary:v1"}
    assert ex.value("regwatch_probe_pulls_total", **key, result="success") == 1.0
    assert ex.value("regwatch_probe_rounds_total", outcome="completed") == 1.0
    rows = ex.service.writer.call(
        "test", lambda st: st.fetchall("SELECT registry, result, bytes FROM probe_results")
    )
    assert rows == [("prod", "success", 1000)]


def test_without_probes_ready_once_the_store_is_open(make_exporter: Make) -> None:
    ex = make_exporter("serve: {slo_interval_seconds: 3600}\n")
    r = ex.get("/readyz")
    assert (r.status_code, r.text) == (200, "ready\n")
    assert ex.standins.rounds_started == 0


def test_metrics_has_build_info_and_zeroed_counters(make_exporter: Make) -> None:
    ex = make_exporter()
    s = ex.samples()
    from regwatch import __version__

    build = [k for k in s if k[0] == "regwatch_build_info"]
    assert len(build) == 1 and ("version", __version__) in build[0][1]
    for outcome in ("accepted", "malformed", "unauthorized", "too_large"):
        assert s[("regwatch_notifications_total", (("outcome", outcome),))] == 0.0
    for job in ("probe", "ingest", "slo", "notifications"):
        assert s[("regwatch_job_failures_total", (("task", job),))] == 0.0
    assert s[("regwatch_probe_rounds_total", (("outcome", "skipped"),))] == 0.0


def test_metrics_gzip_and_openmetrics(make_exporter: Make) -> None:
    ex = make_exporter()
    plain = ex.get("/metrics", headers={"Accept": "text/plain", "Accept-Encoding": "identity"})
    assert plain.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    zipped = requests.get(ex.url + "/metrics", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert b"regwatch_build_info" in gzip.decompress(zipped.raw.read())
    om = ex.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["Content-Type"].startswith("application/openmetrics-text")
    assert om.text.endswith("# EOF\n")


def test_slo_gauges_and_log_counters_come_from_the_jobs_snapshot(make_exporter: Make) -> None:
    standins = StandIns(
        slo_rows=[
            {"slo": "pulls", "objective": 0.999, "sli_value": 0.998, "error_budget_remaining_ratio": -1.0,
             "burn_rates": {"5m": 2.0, "1h": None, "3d": 0.5}},
            {"slo": "quiet", "objective": 0.99, "sli_value": None, "error_budget_remaining_ratio": None,
             "burn_rates": {}},
        ],
        log_rows={
            catalog.LOG_REQUESTS.name: [("prod", "eu", "manifest", "200", 7), ("prod", "eu", "bogus", "500", 2)],
            catalog.LOG_EGRESS.name: [("prod", "eu", 123456)],
        },
    )  # fmt: skip
    slos = "slos: [{name: pulls, objective: 0.999}, {name: quiet, objective: 0.99}]\n"
    ex = make_exporter(BASE_CONFIG + slos, standins=standins)
    wait_until(lambda: ex.value("regwatch_slo_objective_ratio", slo="quiet") == 0.99, timeout=10, what="slo")
    s = ex.samples()
    assert s[("regwatch_slo_sli_ratio", (("slo", "pulls"),))] == 0.998
    assert ("regwatch_slo_sli_ratio", (("slo", "quiet"),)) not in s  # no data: absent, not NaN
    assert s[("regwatch_slo_error_budget_remaining_ratio", (("slo", "pulls"),))] == -1.0
    burns = {k[1]: v for k, v in s.items() if k[0] == "regwatch_slo_burn_rate"}
    assert burns == {(("slo", "pulls"), ("window", "5m")): 2.0, (("slo", "pulls"), ("window", "3d")): 0.5}
    lab = (("code", "200"), ("region", "eu"), ("registry", "prod"), ("route", "manifest"))
    assert s[("regwatch_log_requests_total", lab)] == 7.0
    other = (("code", "500"), ("region", "eu"), ("registry", "prod"), ("route", "other"))
    assert s[("regwatch_log_requests_total", other)] == 2.0  # an unknown route is "other"
    assert s[("regwatch_log_egress_bytes_total", (("region", "eu"), ("registry", "prod")))] == 123456.0


def test_log_counters_are_capped_and_the_folds_counted(make_exporter: Make) -> None:
    repos = [("prod", "eu", f"attacker/{i:03d}", 1) for i in range(50)]
    standins = StandIns(log_rows={catalog.LOG_REPO_FAILURES.name: repos})
    ex = make_exporter(
        BASE_CONFIG.replace("serve: {", "serve: {max_series_per_metric: 10, "), standins=standins
    )
    # the cap counts its folds while the job computes the families, which are published once it ends:
    # wait for both
    wait_until(
        lambda: ex.value("regwatch_series_capped_total", metric=catalog.LOG_REPO_FAILURES.name) == 41.0
        and any(k[0] == "regwatch_log_repository_failures_total" for k in ex.samples()),
        timeout=10, what="series capped and published",
    )  # fmt: skip
    s = ex.samples()
    series = {k[1]: v for k, v in s.items() if k[0] == "regwatch_log_repository_failures_total"}
    assert len(series) == 10
    assert series[(("region", "eu"), ("registry", "prod"), ("repository", "__other__"))] == 41.0
    assert sum(series.values()) == 50.0


def test_ingest_health_from_ingest_files(make_exporter: Make, tmp_path: Path) -> None:
    db = str(tmp_path / "store.duckdb")
    with connect(db) as store:
        store.execute(
            'INSERT INTO ingest_files (source, fingerprint, "offset", lines, accepted, ignored, rejected, '
            "last_ts, updated_at) VALUES ('/var/log/reg.log', 'f', 10, 12, 9, 2, 1, "
            "TIMESTAMP '2026-11-20 10:00:00', TIMESTAMP '2026-11-20 10:00:00')"
        )
    ex = make_exporter(BASE_CONFIG + "logs: [{path: /var/log/reg.log}]\n")
    wait_until(lambda: ex.standins.ingests >= 1, timeout=10, what="an ingest run")
    wait_until(
        lambda: ex.value("regwatch_ingest_lines_total", source="/var/log/reg.log", result="rejected") == 1.0,
        timeout=10, what="ingest lines",
    )  # fmt: skip
    s = ex.samples()
    assert s[("regwatch_ingest_lines_total", (("result", "accepted"), ("source", "/var/log/reg.log")))] == 9.0
    assert s[("regwatch_ingest_lines_total", (("result", "ignored"), ("source", "/var/log/reg.log")))] == 2.0
    lag = s[("regwatch_ingest_lag_seconds", (("source", "/var/log/reg.log"),))]
    import time

    expected = time.time() - 1795168800.0  # 2026-11-20T10:00:00Z
    assert abs(lag - expected) < 60


def test_notifications_are_stored_in_batches(make_exporter: Make) -> None:
    ex = make_exporter()
    r = ex.post("/v1/notifications?registry=prod&region=eu", data=json.dumps(ENVELOPE),
                headers={"Content-Type": "application/vnd.docker.distribution.events.v1+json"})  # fmt: skip
    assert (r.status_code, r.text) == (200, "")
    assert ex.value("regwatch_notifications_total", outcome="accepted") == 1.0
    wait_until(lambda: len(_audit(ex)) == 2, timeout=10, what="audit events")
    assert _audit(ex) == [
        ("ev-1", "push", "prod", "eu", "platform/canary"),
        ("ev-2", "pull", "prod", "eu", "platform/canary"),
    ]
    # the registry retries deliveries: the same envelope again stores nothing new
    assert ex.post("/v1/notifications?registry=prod&region=eu", data=json.dumps(ENVELOPE)).status_code == 200
    wait_until(lambda: ex.service.writer.pending() == 0, timeout=10, what="writer idle")
    assert len(_audit(ex)) == 2


def test_malformed_notifications_get_400_and_are_counted(make_exporter: Make) -> None:
    ex = make_exporter()
    cases = [
        (b"not json", "Bad Request: not JSON\n"),
        (b"[]", 'Bad Request: not an envelope: no "events" list\n'),
        (b'{"events": [{"id": "x", "timestamp": "t"}]}', "Bad Request: events[0].action: missing\n"),
        (b'{"events": [1]}', "Bad Request: events[0]: not an object\n"),
    ]
    for body, message in cases:
        r = ex.post("/v1/notifications", data=body)
        assert (r.status_code, r.text) == (400, message)
    r = ex.post("/v1/notifications?registry=Bad%20Name", data=json.dumps(ENVELOPE))
    assert (r.status_code, r.text) == (400, "Bad Request: registry must match [a-z0-9_-]+\n")
    assert ex.value("regwatch_notifications_total", outcome="malformed") == 5.0
    assert ex.value("regwatch_notifications_total", outcome="accepted") == 0.0


def test_oversized_notifications_get_413(make_exporter: Make) -> None:
    ex = make_exporter(BASE_CONFIG.replace("serve: {", "serve: {notifications: {max_body_bytes: 100}, "))
    r = ex.post("/v1/notifications", data=b"{" + b" " * 200 + b"}")
    assert (r.status_code, r.text) == (413, "Payload Too Large: limit 100 bytes\n")
    assert ex.value("regwatch_notifications_total", outcome="too_large") == 1.0


def test_notifications_need_the_shared_authorization(make_exporter: Make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGWATCH_TEST_NOTIFY", "Bearer s3cret-token")
    ex = make_exporter(BASE_CONFIG.replace(
        "serve: {", "serve: {notifications: {authorization_env: REGWATCH_TEST_NOTIFY}, "))  # fmt: skip
    body = json.dumps(ENVELOPE)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-token "}):
        r = ex.post("/v1/notifications", data=body, headers=headers)
        assert r.status_code == 401
    assert ex.value("regwatch_notifications_total", outcome="unauthorized") == 3.0
    r = ex.post("/v1/notifications", data=body, headers={"Authorization": "Bearer s3cret-token"})
    assert r.status_code == 200
    assert "s3cret-token" not in ex.get("/metrics").text


def test_probe_rounds_never_overlap_and_skips_are_counted(make_exporter: Make) -> None:
    gate = threading.Event()
    standins = StandIns(gate=gate)
    ex = make_exporter(
        BASE_CONFIG.replace("probe: {interval_seconds: 3600", "probe: {interval_seconds: 0.2"),
        standins=standins,
    )
    wait_until(lambda: (ex.value("regwatch_probe_rounds_total", outcome="skipped") or 0) >= 3,
               timeout=15, what="skipped rounds")  # fmt: skip
    assert standins.rounds_started == 1 and standins.max_running == 1
    gate.set()
    wait_until(lambda: standins.rounds_started >= 3, timeout=15, what="rounds resume")
    assert standins.max_running == 1


def test_a_failing_job_is_counted_and_the_next_run_works(make_exporter: Make) -> None:
    standins = StandIns(fail_rounds=1, fail_slo=True)
    cfg = BASE_CONFIG.replace("probe: {interval_seconds: 3600", "probe: {interval_seconds: 0.3")
    ex = make_exporter(cfg + "slos: [{name: pulls}]\n", standins=standins)
    ex.wait_value("regwatch_job_failures_total", 1.0, task="probe")
    ex.wait_value("regwatch_job_failures_total", 1.0, task="slo")
    wait_until(
        lambda: ex.get("/readyz").status_code == 200, timeout=10, what="a good round after the failure"
    )
    assert ex.value("regwatch_probe_rounds_total", outcome="completed") >= 1.0  # type: ignore[operator]
    assert ex.get("/healthz").status_code == 200


def test_store_is_closed_between_batches(make_exporter: Make, tmp_path: Path) -> None:
    """Another process can open the store read-only while serve runs (it only holds it per batch)."""
    ex = make_exporter()
    wait_until(lambda: ex.get("/readyz").status_code == 200, timeout=10, what="ready")
    wait_until(lambda: ex.service.writer.pending() == 0, timeout=10, what="writer idle")
    import subprocess
    import sys

    code = (
        "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select count(*) from probe_results').fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code, ex.service.db_path], check=False, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert (out.returncode, out.stdout) == (0, "1\n"), out.stderr
    assert duckdb.__version__  # the same library the exporter uses


def test_stop_flushes_queued_notifications(make_exporter: Make) -> None:
    ex = make_exporter(batch_delay=5.0)  # a long coalescing window: stop must not wait it out
    assert ex.post("/v1/notifications?registry=prod", data=json.dumps(ENVELOPE)).status_code == 200
    assert ex.service.stop() is True
    with connect(ex.service.db_path, read_only=True) as store:
        assert store.fetchall("SELECT event_id FROM audit_events ORDER BY 1") == [("ev-1",), ("ev-2",)]
