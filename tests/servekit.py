"""Test helpers for the exporter: run ``regwatch serve`` and a real Prometheus as subprocesses.

    from servekit import start_serve, start_prometheus, write_yaml

    serve = start_serve(tmp_path, {"registries": [...], "probe": {"interval_seconds": 2}})
    prom = start_prometheus(tmp_path, [serve.target])
    prom.wait_for('regwatch_probe_pulls_total{result="success"}')     # -> list of samples
    serve.stop()    # SIGTERM; returns the exit code
    prom.stop()

Both are started on free loopback ports with ``setpriv --pdeathsig TERM`` (no orphans if the test
process dies) and stopped at interpreter exit at the latest. Importable from any test suite
(``pythonpath = ["tests"]``); the rules and dashboards suites load their generated files into
``start_prometheus(..., rule_files=[...])``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml
from rig.net import LOOPBACK, free_port, wait_until

PROMETHEUS_BIN = os.environ.get("REGWATCH_PROMETHEUS_BIN", "/usr/bin/prometheus")
PROMTOOL_BIN = os.environ.get("REGWATCH_PROMTOOL_BIN", "/usr/bin/promtool")
START_TIMEOUT = 30.0

_LIVE: set[Any] = set()
_LIVE_LOCK = threading.Lock()


def _pdeathsig() -> list[str]:
    exe = shutil.which("setpriv")
    return [exe, "--pdeathsig", "TERM"] if exe else []


def write_yaml(path: Path, data: Any) -> Path:
    """Write ``data`` as YAML to ``path`` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def regwatch_argv() -> list[str]:
    """The command line that runs this checkout's ``regwatch`` with the test interpreter."""
    return [sys.executable, "-c", "from regwatch.cli import main; main()"]


# --- regwatch serve ---------------------------------------------------------------------------------


def terminate(proc: subprocess.Popen[Any], timeout: float) -> int:
    """SIGTERM ``proc`` and wait (SIGKILL after ``timeout``); return its exit code. Idempotent."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return int(proc.returncode)


@dataclass(eq=False)
class RunningServe:
    """A ``regwatch serve`` subprocess."""

    proc: subprocess.Popen[bytes]
    url: str  # http(s)://127.0.0.1:PORT
    port: int
    db_path: Path
    config_path: Path
    log_path: Path  # its stderr (and stdout)
    verify: str | bool = True  # for requests, with TLS
    auth: tuple[str, str] | None = None  # basic auth for requests
    cert: tuple[str, str] | None = None  # client certificate and key for requests (mutual TLS)

    @property
    def target(self) -> str:
        """``127.0.0.1:PORT``, for a Prometheus static config."""
        return f"{LOOPBACK}:{self.port}"

    def get(self, path: str, **kw: Any) -> requests.Response:
        """GET a path of the exporter (with its TLS and auth settings unless overridden)."""
        kw.setdefault("verify", self.verify)
        kw.setdefault("auth", self.auth)
        kw.setdefault("cert", self.cert)
        kw.setdefault("timeout", 10)
        return requests.get(self.url + path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        """POST to a path of the exporter."""
        kw.setdefault("verify", self.verify)
        kw.setdefault("cert", self.cert)
        kw.setdefault("timeout", 10)
        return requests.post(self.url + path, **kw)

    def metrics_text(self) -> str:
        """The /metrics body in the Prometheus text format."""
        r = self.get("/metrics", headers={"Accept": "text/plain"})
        r.raise_for_status()
        return r.text

    def sample(self, name: str, **labels: str) -> float | None:
        """The value of one series on /metrics (None when absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        for fam in text_string_to_metric_families(self.metrics_text()):
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return float(s.value)
        return None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.running:
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; return its exit code."""
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait (SIGKILL after ``timeout``); return the exit code. Idempotent."""
        with _LIVE_LOCK:
            _LIVE.discard(self)
        return terminate(self.proc, timeout)

    def __enter__(self) -> RunningServe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_serve(
    workdir: Path,
    config: dict[str, Any] | Path,
    *,
    db_path: Path | None = None,
    listen: str | None = None,
    web_config: dict[str, Any] | Path | None = None,
    ca_file: Path | None = None,
    auth: tuple[str, str] | None = None,
    cert: tuple[Path, Path] | None = None,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    wait: str | None = "ready",
    timeout: float = START_TIMEOUT,
) -> RunningServe:
    """Start ``regwatch serve`` and wait until ``/readyz`` (``wait="ready"``) or ``/healthz``
    (``wait="alive"``) answers 200; ``wait=None`` returns at once.

    ``config``: a config dict (written to ``workdir/regwatch.yaml``) or a path. ``web_config``: a
    web config dict or path (TLS: pass ``ca_file`` so the helper can verify the server, and ``cert``,
    a client certificate and key, for mutual TLS). ``listen`` may name an IPv6 host (``[::1]:PORT``).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = write_yaml(workdir / "regwatch.yaml", config) if isinstance(config, dict) else Path(config)
    db_path = db_path or workdir / "regwatch.duckdb"
    port = free_port()
    listen = listen or f"{LOOPBACK}:{port}"
    host, _, port_text = listen.rpartition(":")
    port = int(port_text)
    argv = [*regwatch_argv(), "--config", str(config_path), "--db", str(db_path), "serve", "--listen", listen]
    scheme = "http"
    if web_config is not None:
        wc_path = write_yaml(workdir / "web.yml", web_config) if isinstance(web_config, dict) else web_config
        argv += ["--web-config-file", str(wc_path)]
        wc = yaml.safe_load(Path(wc_path).read_text()) or {}
        scheme = "https" if wc.get("tls_server_config") else "http"
    argv += extra_args or []
    log_path = workdir / f"serve-{port}.log"
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [*_pdeathsig(), *argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=str(workdir), env=full_env,
        )  # fmt: skip
    serve = RunningServe(
        proc=proc, url=f"{scheme}://{host}:{port}", port=port, db_path=db_path,
        config_path=config_path, log_path=log_path, verify=str(ca_file) if ca_file else True, auth=auth,
        cert=(str(cert[0]), str(cert[1])) if cert else None,
    )  # fmt: skip
    with _LIVE_LOCK:
        _LIVE.add(serve)
    if wait is None:
        return serve
    path = "/readyz" if wait == "ready" else "/healthz"

    def answers() -> bool:
        try:
            return serve.get(path, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def exited() -> str | None:
        rc = proc.poll()
        return None if rc is None else f"regwatch serve exited with {rc}:\n{serve.log_text()[-3000:]}"

    try:
        wait_until(answers, timeout=timeout, interval=0.05, what=f"regwatch serve {path}", abort=exited)
    except Exception:
        serve.stop()
        raise
    return serve


# --- prometheus -------------------------------------------------------------------------------------


@dataclass(eq=False)
class RunningPrometheus:
    """A real Prometheus server."""

    proc: subprocess.Popen[bytes]
    url: str
    config_path: Path
    log_path: Path
    data_dir: Path
    config: dict[str, Any] = field(default_factory=dict)

    def query(self, expr: str, **params: str) -> list[dict[str, Any]]:
        """Run an instant query; return ``data.result`` (raises on an API error)."""
        r = requests.get(f"{self.url}/api/v1/query", params={"query": expr, **params}, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"prometheus query {expr!r} failed: {body}")
        return list(body["data"]["result"])

    def wait_for(self, expr: str, *, timeout: float = 30.0, min_results: int = 1) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns at least ``min_results`` samples; return them."""
        box: dict[str, list[dict[str, Any]]] = {}

        def has() -> bool:
            box["r"] = self.query(expr)
            return len(box["r"]) >= min_results

        wait_until(has, timeout=timeout, interval=0.25, what=f"prometheus: {expr}", abort=self._exited)
        return box["r"]

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets (health, lastError, labels)."""
        r = requests.get(f"{self.url}/api/v1/targets", timeout=10).json()
        return list(r["data"]["activeTargets"])

    def rules(self) -> list[dict[str, Any]]:
        """Loaded rule groups (``/api/v1/rules``)."""
        r = requests.get(f"{self.url}/api/v1/rules", timeout=10).json()
        return list(r["data"]["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (``/api/v1/alerts``)."""
        r = requests.get(f"{self.url}/api/v1/alerts", timeout=10).json()
        return list(r["data"]["alerts"])

    def _exited(self) -> str | None:
        rc = self.proc.poll()
        if rc is None:
            return None
        return f"prometheus exited with {rc}:\n{self.log_path.read_text(errors='replace')[-3000:]}"

    def stop(self, timeout: float = 15.0) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)
        terminate(self.proc, timeout)

    def __enter__(self) -> RunningPrometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_prometheus(
    workdir: Path,
    targets: list[str] | None = None,
    *,
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    job_name: str = "regwatch",
    scheme: str = "http",
    basic_auth: tuple[str, str] | None = None,
    ca_file: Path | None = None,
    scrape_configs: list[dict[str, Any]] | None = None,
    rule_files: list[Path] | None = None,
    extra_config: dict[str, Any] | None = None,
    timeout: float = START_TIMEOUT,
) -> RunningPrometheus:
    """Start Debian's prometheus on a free loopback port scraping ``targets`` every ``scrape_interval``.

    ``scrape_configs`` replaces the generated one; ``rule_files`` are loaded as given.
    """
    if not Path(PROMETHEUS_BIN).exists():
        raise RuntimeError(f"prometheus is not installed at {PROMETHEUS_BIN}: apt-get install prometheus")
    workdir = Path(workdir) / f"prometheus-{free_port()}"
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True)
    if scrape_configs is None:
        job: dict[str, Any] = {
            "job_name": job_name,
            "scheme": scheme,
            "static_configs": [{"targets": list(targets or [])}],
        }
        if basic_auth is not None:
            job["basic_auth"] = {"username": basic_auth[0], "password": basic_auth[1]}
        if ca_file is not None:
            job["tls_config"] = {"ca_file": str(ca_file)}
        scrape_configs = [job]
    cfg: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "scrape_configs": scrape_configs,
    }
    if rule_files:
        cfg["rule_files"] = [str(p) for p in rule_files]
    if extra_config:
        cfg.update(extra_config)
    config_path = write_yaml(workdir / "prometheus.yml", cfg)
    port = free_port()
    log_path = workdir / "prometheus.log"
    argv = [
        PROMETHEUS_BIN,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [*_pdeathsig(), *argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=str(workdir),
        )  # fmt: skip
    prom = RunningPrometheus(
        proc=proc, url=f"http://{LOOPBACK}:{port}", config_path=config_path, log_path=log_path,
        data_dir=data_dir, config=cfg,
    )  # fmt: skip
    with _LIVE_LOCK:
        _LIVE.add(prom)

    def ready() -> bool:
        try:
            return requests.get(f"{prom.url}/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(ready, timeout=timeout, interval=0.1, what="prometheus /-/ready", abort=prom._exited)
    except Exception:
        prom.stop()
        raise
    return prom


def promtool_check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    """Run ``promtool check metrics`` on an exposition body (returncode 0 and no output: clean)."""
    return subprocess.run(
        [PROMTOOL_BIN, "check", "metrics"],
        check=False,
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )


def stop_all() -> None:
    """Stop every serve and prometheus this process started and has not stopped."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for p in live:
        with contextlib.suppress(Exception):
            p.stop()


atexit.register(stop_all)
