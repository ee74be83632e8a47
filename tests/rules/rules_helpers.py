"""Fixtures of the rules tests: the real promtool, Prometheus and Alertmanager binaries on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from rig.net import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "regwatch.yaml"


def binary(name: str) -> str:
    """Path of a Debian-packaged tool; missing tools fail the test (CI installs them)."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(
            f"{name} not installed (apt-get install prometheus prometheus-alertmanager)", pytrace=False
        )
    return path


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback test servers only
        return json.loads(resp.read())


class Prometheus:
    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log

    def api(self, path: str) -> Any:
        body = get_json(f"{self.url}/api/v1/{path}")
        assert body["status"] == "success", body
        return body["data"]

    def firing(self, alertname: str) -> list[dict[str, Any]]:
        return [
            a for a in self.api("alerts")["alerts"]
            if a["labels"]["alertname"] == alertname and a["state"] == "firing"
        ]  # fmt: skip

    def abort(self) -> str | None:
        if self.proc.poll() is not None:
            return f"prometheus exited {self.proc.returncode}: {self.log.read_text()[-2000:]}"
        return None


@contextmanager
def start_prometheus(
    workdir: Path, rule_files: list[Path], targets: list[str], *, job: str = "regwatch", interval: str = "1s"
) -> Iterator[Prometheus]:
    """Run a real Prometheus on a free loopback port with the rule files and one static scrape job."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log = workdir / "prometheus.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                binary("prometheus"),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
            ],
            stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    prom = Prometheus(f"http://127.0.0.1:{port}", proc, log)
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{prom.url}/-/ready", timeout=1) as r:  # noqa: S310
                    return r.status == 200
            except OSError:
                return False

        wait_until(ready, timeout=60, what="prometheus ready", abort=prom.abort)
        yield prom
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
