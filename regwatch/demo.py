"""The demo's moving parts: a throwaway local registry on loopback and its canary image.

``regwatch demo`` (commands/demo.py) runs every subcommand against these, so a newcomer sees each
part of regwatch work on this machine without any configuration or network access.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from regwatch.errors import RegwatchError

REGISTRY_BINARY = "docker-registry"
CANARY_REPOSITORY = "platform/canary"
CANARY_TAG = "v1"
SAMPLE_LOGS = Path(__file__).resolve().parents[1] / "sample-logs"

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: info
  formatter: json
  accesslog: {{disabled: false}}
storage:
  filesystem: {{rootdirectory: {root}}}
  delete: {{enabled: true}}
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalRegistry:
    """A docker-registry process on 127.0.0.1 with filesystem storage under ``workdir``."""

    url: str
    log_path: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the registry (SIGTERM, then SIGKILL after 5 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def registry_available() -> bool:
    """Whether Debian's docker-registry (CNCF distribution) is installed."""
    return shutil.which(REGISTRY_BINARY) is not None


def start_registry(workdir: Path, *, timeout: float = 20.0) -> LocalRegistry:
    """Start a throwaway registry on a free loopback port; its output goes to ``registry.log``."""
    binary = shutil.which(REGISTRY_BINARY)
    if binary is None:
        raise RegwatchError(f"{REGISTRY_BINARY} is not installed (apt-get install docker-registry)")
    port = free_port()
    root = workdir / "registry-storage"
    root.mkdir(parents=True, exist_ok=True)
    config = workdir / "registry.yml"
    config.write_text(REGISTRY_CONFIG.format(root=json.dumps(str(root)), port=port), encoding="utf-8")
    log_path = workdir / "registry.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config file
            [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    reg = LocalRegistry(url=f"http://127.0.0.1:{port}", log_path=log_path, proc=proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RegwatchError(f"{REGISTRY_BINARY} exited with {proc.returncode}; see {log_path}")
        try:
            if requests.get(f"{reg.url}/v2/", timeout=1).status_code == 200:
                return reg
        except requests.RequestException:
            pass
        time.sleep(0.05)
    reg.stop()
    raise RegwatchError(f"{REGISTRY_BINARY} did not answer on {reg.url} within {timeout:g}s; see {log_path}")


def push_canary(url: str, *, repository: str = CANARY_REPOSITORY, tag: str = CANARY_TAG) -> str:
    """Build a small canary image and push it with regwatch's own OCI push client; return its digest."""
    from regwatch.oci import OciError
    from regwatch.oci.image import build_image
    from regwatch.oci.push import PushClient
    from regwatch.oci.transport import Deadline

    image = build_image(layer_sizes=[64 * 1024, 256 * 1024], seed=1)
    try:
        with PushClient(url, repository, deadline=Deadline(30.0)) as client:
            client.authenticate()
            report = client.push_image(image, tag)
    except OciError as exc:
        raise RegwatchError(f"pushing the demo canary to {url}: {exc}") from None
    return str(report.manifest_digest)


def demo_config(workdir: Path, registry: LocalRegistry | None) -> str:
    """The demo's config as YAML: the local registry (when running) and the shipped sample logs."""
    slos: list[dict[str, Any]] = [
        {"name": "log-pull-success", "sli": "pull_success", "source": "logs", "objective": 0.99,
         "window": "30d", "description": "Clients' manifest pulls succeed, from the registry's own logs."},
    ]  # fmt: skip
    logs: list[dict[str, Any]] = [
        {"path": str(SAMPLE_LOGS / "distribution-json.log"), "format": "distribution",
         "registry": "sample", "region": "us-east-1"},
        {"path": str(SAMPLE_LOGS / "notifications.jsonl"), "format": "notifications",
         "registry": "sample", "region": "us-east-1"},
    ]  # fmt: skip
    registries: list[dict[str, Any]] = []
    if registry is not None:
        registries.append({
            "name": "demo",
            "regions": [{"name": "local", "url": registry.url}],
            "auth_paths": [{"name": "anonymous"}],
            "canaries": [{"repository": CANARY_REPOSITORY, "reference": CANARY_TAG}],
        })  # fmt: skip
        logs.insert(0, {"path": str(registry.log_path), "format": "distribution", "registry": "demo",
                        "region": "local"})  # fmt: skip
        slos[:0] = [
            {"name": "canary-pull-success", "sli": "pull_success", "source": "probes", "objective": 0.999,
             "window": "30d", "description": "Canary pulls succeed on the first attempt."},
            {"name": "canary-pull-latency", "sli": "pull_latency", "source": "probes", "threshold_seconds": 1,
             "objective": 0.95, "window": "30d", "description": "Canary pulls finish within a second."},
        ]  # fmt: skip
    cfg = {
        "registries": registries,
        "probe": {"interval_seconds": 2, "timeout_seconds": 10, "concurrency": 2, "jitter_seconds": 0},
        "store": {"path": str(workdir / "regwatch.duckdb")},
        "logs": logs,
        "slos": slos,
        "serve": {
            "listen": f"127.0.0.1:{free_port()}",
            "slo_interval_seconds": 5,
            "ingest_interval_seconds": 2,
        },
    }
    return "# regwatch demo configuration, written by `regwatch demo`.\n" + yaml.safe_dump(
        cfg, sort_keys=False
    )
