"""``regwatch probe`` end to end: exit codes, JSON, the store, the metrics file, and secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from probe_helpers import PASSWORD_ENV, WRONG_PASSWORD, WRONG_PASSWORD_ENV
from prometheus_client.parser import text_string_to_metric_families
from rig.oci_layout import ImageInfo
from rig.registry import ROBOT_PASSWORD, RunningRegistry

from regwatch.cli import cli
from regwatch.probe.result import COLUMNS

JSON_KEYS = {
    "registry", "region", "auth_path", "canary", "kind", "result", "reason", "status", "bytes",
    "duration_seconds", "phases", "ts", "retry_after_seconds", "manifest_digest", "error",
}  # fmt: skip


def write_config(path: Path, url: str, *, extra: str = "", auth_paths: str | None = None) -> Path:
    auth_paths = auth_paths or (
        f"[{{name: robot, username: robot, password_env: {PASSWORD_ENV}}}, {{name: anonymous}}]"
    )
    path.write_text(
        f"""
registries:
  - name: main
    regions: [{{name: local, url: "{url}"}}]
    auth_paths: {auth_paths}
    canaries: [{{repository: platform/canary, reference: v1}}]
probe: {{timeout_seconds: 5, interval_seconds: 0.2, jitter_seconds: 0{extra}}}
"""
    )
    return path


@pytest.fixture
def htpasswd_reg(
    make_registry: Callable[..., RunningRegistry], canary_image: Callable[..., ImageInfo]
) -> tuple[RunningRegistry, ImageInfo]:
    reg = make_registry("htpasswd")
    return reg, canary_image(reg)


def run(tmp_path: Path, cfg: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli,
        ["--config", str(cfg), "--db", str(tmp_path / "rw.duckdb"), "probe", *args],
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_once_json_db_and_metrics(tmp_path: Path, htpasswd_reg: tuple[RunningRegistry, ImageInfo]) -> None:
    reg, info = htpasswd_reg
    cfg = write_config(tmp_path / "c.yaml", reg.url)
    prom = tmp_path / "probe.prom"
    code, out, err = run(tmp_path, cfg, "--once", "--json", "--metrics-out", str(prom))
    assert code == 1  # the anonymous path is refused
    data = json.loads(out)
    assert [(d["auth_path"], d["result"], d["reason"], d["status"]) for d in data] == [
        ("robot", "success", None, 200),
        ("anonymous", "failure", "unauthorized", 401),
    ]
    assert all(d.keys() >= JSON_KEYS for d in data)
    assert set(data[0]["phases"]) == {"connect", "auth", "manifest", "config", "layers", "total"}
    assert data[0]["bytes"] == info.total_bytes and data[1]["bytes"] == 0
    assert err.strip() == "probe: 2 probes, 1 failed"

    con = duckdb.connect(str(tmp_path / "rw.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT auth_path, kind, result, reason, status, bytes, manifest_digest FROM probe_results ORDER BY auth_path"
    ).fetchall()
    cols = [r[0] for r in con.execute("DESCRIBE probe_results").fetchall()]
    con.close()
    assert tuple(cols) == COLUMNS
    assert rows == [
        ("anonymous", "pull", "failure", "unauthorized", 401, 0, None),
        ("robot", "pull", "success", None, 200, info.total_bytes, info.manifest_digest),
    ]

    values = metric_values(prom.read_text())
    robot = {"registry": "main", "region": "local", "auth_path": "robot", "canary": "platform/canary:v1"}
    anon = {**robot, "auth_path": "anonymous"}

    def v(name: str, labels: dict[str, str], **extra: str) -> float | None:
        return values.get((name, tuple(sorted({**labels, **extra}.items()))))

    assert v("regwatch_probe_pulls_total", robot, result="success") == 1
    assert v("regwatch_probe_pulls_total", robot, result="failure") == 0
    assert v("regwatch_probe_pulls_total", anon, result="failure") == 1
    assert v("regwatch_probe_pulls_total", anon, result="success") == 0
    assert v("regwatch_probe_errors_total", anon, reason="unauthorized") == 1
    assert not any(
        k[0] == "regwatch_probe_errors_total" and dict(k[1])["auth_path"] == "robot" for k in values
    )
    assert v("regwatch_probe_pull_bytes_total", robot) == info.total_bytes
    assert v("regwatch_probe_pull_bytes_total", anon) == 0
    assert v("regwatch_probe_consecutive_failures", anon) == 1
    assert v("regwatch_probe_consecutive_failures", robot) == 0
    ts = datetime.fromisoformat(data[0]["ts"].replace("Z", "+00:00")).timestamp()
    assert v("regwatch_probe_last_success_timestamp_seconds", robot) == pytest.approx(
        ts + data[0]["duration_seconds"], abs=1e-3
    )
    assert v("regwatch_probe_last_success_timestamp_seconds", anon) is None
    assert v("regwatch_probe_pull_duration_seconds_bucket", robot, le="+Inf", result="success") == 1
    assert v("regwatch_probe_pull_duration_seconds_bucket", anon, le="+Inf", result="failure") == 1
    assert v("regwatch_probe_phase_duration_seconds_count", robot, phase="layers") == 1
    assert v("regwatch_probe_phase_duration_seconds_count", anon, phase="layers") is None


def test_table_and_exit_zero(tmp_path: Path, htpasswd_reg: tuple[RunningRegistry, ImageInfo]) -> None:
    reg, info = htpasswd_reg
    cfg = write_config(tmp_path / "c.yaml", reg.url)
    code, out, _ = run(tmp_path, cfg, "--once", "--auth-path", "robot")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "REGISTRY", "REGION", "AUTH_PATH", "CANARY", "RESULT", "REASON", "STATUS", "BYTES", "DURATION_S", "ERROR",
    ]  # fmt: skip
    assert lines[1].split()[:8] == [
        "main",
        "local",
        "robot",
        "platform/canary:v1",
        "success",
        "-",
        "200",
        str(info.total_bytes),
    ]
    assert len(lines) == 2


def test_unknown_selection_is_a_usage_error(
    tmp_path: Path, htpasswd_reg: tuple[RunningRegistry, ImageInfo]
) -> None:
    reg, _ = htpasswd_reg
    cfg = write_config(tmp_path / "c.yaml", reg.url)
    code, out, err = run(tmp_path, cfg, "--once", "--region", "mars")
    assert (code, out) == (2, "")
    assert err == f"regwatch: error: --region mars: no such region in {cfg}\n"


def test_loop_runs_rounds_on_the_interval(
    tmp_path: Path, htpasswd_reg: tuple[RunningRegistry, ImageInfo]
) -> None:
    reg, _ = htpasswd_reg
    cfg = write_config(tmp_path / "c.yaml", reg.url)
    code, out, _ = run(tmp_path, cfg, "--json", "--auth-path", "robot", "--max-rounds", "2")
    assert code == 0
    rounds = [json.loads(line) for line in out.splitlines()]
    assert [[d["result"] for d in r] for r in rounds] == [["success"], ["success"]]
    con = duckdb.connect(str(tmp_path / "rw.duckdb"), read_only=True)
    ids = con.execute("SELECT count(DISTINCT round_id), count(*) FROM probe_results").fetchone()
    con.close()
    assert ids == (2, 2)


@pytest.mark.parametrize("mode", ["htpasswd", "token"])
def test_secrets_never_in_any_output(
    tmp_path: Path,
    mode: str,
    make_registry: Callable[..., RunningRegistry],
    canary_image: Callable[..., ImageInfo],
    fault_proxy: Callable[[str], object],
) -> None:
    """A succeeding and a failing run: no password, Basic value or token in stdout, stderr, DB or metrics."""
    import base64

    reg = make_registry(mode)
    canary_image(reg)
    proxy = fault_proxy(reg.url)
    proxy.add(r"/blobs/", status=500, echo_auth=True)  # type: ignore[attr-defined]
    outputs: list[str] = []
    paths = (
        f"[{{name: robot, username: robot, password_env: {PASSWORD_ENV}}}, "
        f"{{name: wrong, username: robot, password_env: {WRONG_PASSWORD_ENV}}}]"
    )
    for url, want in ((reg.url, 1), (proxy.url, 1)):  # (robot ok + wrong refused), (both fail)
        cfg = write_config(tmp_path / "c.yaml", url, auth_paths=paths)
        prom = tmp_path / "p.prom"
        for args in (["--once", "--json"], ["--once"]):
            code, out, err = run(tmp_path, cfg, *args, "--metrics-out", str(prom))
            assert code == want
            outputs += [out, err, prom.read_text()]
    con = duckdb.connect(str(tmp_path / "rw.duckdb"), read_only=True)
    rows = con.execute("SELECT * FROM probe_results").fetchall()
    con.close()
    assert len(rows) == 8 and {r[COLUMNS.index("result")] for r in rows} == {"success", "failure"}
    outputs.append(repr(rows))
    everything = "\n".join(outputs)
    assert "500" in everything and "unauthorized" in everything
    for secret in (ROBOT_PASSWORD, WRONG_PASSWORD):
        assert secret not in everything
        assert base64.b64encode(f"robot:{secret}".encode()).decode() not in everything
    assert "eyJ" not in everything  # no JWT (token) fragment anywhere
