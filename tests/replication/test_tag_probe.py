"""Tag integrity against real registries: a tag re-pointed, a tag deleted, state across processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
from click.testing import CliRunner
from replication_helpers import REPO, Replicator, auth_path_yaml, push, samples
from rig import skopeo
from rig.oci_layout import ImageInfo
from rig.registry import RunningRegistry

from regwatch.cli import cli
from regwatch.config import parse_config
from regwatch.oci import build_image
from regwatch.probe import run_round

BASE = "platform/base"


def write_config(path: Path, primary: RunningRegistry, replica: RunningRegistry, extra: str = "") -> Path:
    path.write_text(
        f"""
registries:
  - name: main
    regions: [{{name: primary, url: "{primary.url}"}}, {{name: replica, url: "{replica.url}"}}]
    auth_paths: [{{name: anonymous}}, {auth_path_yaml(primary)}]
{extra}
protected_tags:
  - {{registry: main, repository: {BASE}, tags: [stable, "1.0"]}}
probe: {{timeout_seconds: 10}}
"""
    )
    return path


def run(tmp_path: Path, cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--config", str(cfg), "--db", str(tmp_path / "rw.duckdb"), *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout


def run_process(tmp_path: Path, cfg: Path, *args: str) -> tuple[int, str]:
    """A fresh regwatch process: nothing carried over in memory."""
    proc = subprocess.run(
        [sys.executable, "-c", "from regwatch.cli import cli; cli()", "--config", str(cfg), "--db", str(tmp_path / "rw.duckdb"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout


def by_cell(data: list[dict]) -> dict[tuple[str, str], tuple]:
    return {
        (d["region"], d["tag"]): (
            d["present"],
            d["changed"],
            d["digest"],
            d["previous_digest"],
            d["result"],
            d["reason"],
        )
        for d in data
        if d["kind"] == "tag"
    }


def test_moved_and_missing_tags(tmp_path: Path, make_registry: Callable[..., RunningRegistry]) -> None:
    primary, replica = make_registry(), make_registry()
    a, b, c = (build_image([500], seed=s) for s in (1, 2, 3))
    da, db, dc = str(a.manifest_digest), str(b.manifest_digest), str(c.manifest_digest)
    for reg in (primary, replica):
        push(reg, BASE, "stable", a)
        push(reg, BASE, "1.0", c)
    cfg = write_config(tmp_path / "c.yaml", primary, replica)
    prom = tmp_path / "tags.prom"

    code, out = run(tmp_path, cfg, "probe", "--once", "--json", "--metrics-out", str(prom))
    assert code == 0
    data = json.loads(out)
    assert by_cell(data) == {
        ("primary", "stable"): (True, False, da, None, "success", None),
        ("primary", "1.0"): (True, False, dc, None, "success", None),
        ("replica", "stable"): (True, False, da, None, "success", None),
        ("replica", "1.0"): (True, False, dc, None, "success", None),
    }
    assert {d["repository"] for d in data} == {BASE}

    # re-point stable on the primary; a new process must still see the move (state from the DB)
    push(primary, BASE, "stable", b)
    code, out = run_process(
        tmp_path, cfg, "probe", "--once", "--json", "--kind", "tag", "--metrics-out", str(prom)
    )
    assert code == 1
    cells = by_cell(json.loads(out))
    assert cells[("primary", "stable")] == (True, True, db, da, "failure", "digest_mismatch")
    assert cells[("replica", "stable")] == (True, False, da, da, "success", None)
    got = samples(prom.read_text())

    def lab(region: str, tag: str) -> tuple[tuple[str, str], ...]:
        return (("region", region), ("registry", "main"), ("repository", BASE), ("tag", tag))

    assert got[("regwatch_tag_digest_changes_total", lab("primary", "stable"))] == 1
    assert got[("regwatch_tag_digest_changes_total", lab("replica", "stable"))] == 0
    assert got[("regwatch_tag_present", lab("primary", "stable"))] == 1

    # delete 1.0 in the replica (by digest, as skopeo does): missing, not moved
    skopeo.delete(replica, BASE, "1.0")
    code, out = run(tmp_path, cfg, "probe", "--once", "--json", "--kind", "tag", "--metrics-out", str(prom))
    assert code == 1
    cells = by_cell(json.loads(out))
    assert cells[("replica", "1.0")] == (False, False, None, dc, "failure", "not_found")
    assert cells[("primary", "stable")] == (True, False, db, db, "success", None)  # a move fails one round
    got = samples(prom.read_text())
    assert got[("regwatch_tag_present", lab("replica", "1.0"))] == 0
    assert (
        got[("regwatch_tag_digest_changes_total", lab("primary", "stable"))] == 0
    )  # a new process's counter

    con = duckdb.connect(str(tmp_path / "rw.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT region, tag, digest, present, changed, previous_digest, status FROM tag_observations "
        "WHERE changed OR NOT present ORDER BY ts"
    ).fetchall()
    kinds = con.execute("SELECT kind, count(*) FROM probe_results GROUP BY kind").fetchall()
    con.close()
    assert rows == [
        ("primary", "stable", db, True, True, da, 200),
        ("replica", "1.0", None, False, False, dc, 404),
    ]
    assert kinds == [("tag", 12)]

    code, out = run(
        tmp_path, cfg, "query", "tag-history", "--param", f"repository={BASE}", "--format", "json"
    )
    assert code == 0
    history = [
        (r["source"], r["action"], r["region"], r["tag"], r["digest"], r["previous_digest"])
        for r in json.loads(out)
    ]
    assert history == [
        ("probe", "changed", "primary", "stable", db, da),
        ("probe", "missing", "replica", "1.0", None, dc),
    ]


def test_without_history_nothing_counts_as_moved(
    make_registry: Callable[..., RunningRegistry], tmp_path: Path
) -> None:
    primary, replica = make_registry(), make_registry()
    for reg in (primary, replica):
        push(reg, BASE, "stable", build_image([10], seed=1))
    cfg = parse_config(write_config(tmp_path / "c.yaml", primary, replica).read_text(), "c.yaml")
    results = run_round(cfg, previous_tags={("main", "primary", BASE, "stable"): "sha256:" + "0" * 64})
    moved = {(r.region, r.tag): r.changed for r in results}
    assert moved == {("primary", "stable"): True, ("primary", "1.0"): False, ("replica", "stable"): False,
                     ("replica", "1.0"): False}  # fmt: skip
    assert [r.reason for r in results if r.tag == "1.0"] == ["not_found", "not_found"]


def test_once_runs_every_kind(
    tmp_path: Path, make_registry: Callable[..., RunningRegistry], canary_image: Callable[..., ImageInfo]
) -> None:
    primary, replica = make_registry(), make_registry()
    for reg in (primary, replica):
        canary_image(reg)
        push(reg, BASE, "stable", build_image([10], seed=1))
        push(reg, BASE, "1.0", build_image([10], seed=2))
    extra = f"""    canaries: [{{repository: platform/canary, reference: v1}}]
replication:
  - {{registry: main, from_region: primary, auth_path: pusher, repository: {REPO}, timeout_seconds: 20,
     poll_interval_seconds: 0.1}}"""
    cfg = write_config(tmp_path / "c.yaml", primary, replica, extra)
    replicator = Replicator(primary, replica, REPO, 0.3).start()
    try:
        code, out = run(tmp_path, cfg, "probe", "--once", "--json", "--region", "replica")
        assert code == 0
        code, table = run(tmp_path, cfg, "probe", "--once")
        assert code == 0
    finally:
        replicator.close()
    data = json.loads(out)
    assert [(d["kind"], d["region"], d["result"]) for d in data] == [
        ("pull", "replica", "success"),
        ("pull", "replica", "success"),
        ("replication", "replica", "success"),
        ("tag", "replica", "success"),
        ("tag", "replica", "success"),
    ]
    rep = data[2]
    assert rep["from_region"] == "primary" and rep["lag_seconds"] >= 0.3
    assert [d["tag"] for d in data[3:]] == ["stable", "1.0"]
    assert "tag" not in data[0] and "present" not in data[2]

    tables = [t.splitlines() for t in table.split("\n\n")]
    assert [t[0].split() for t in tables] == [
        ["REGISTRY", "REGION", "AUTH_PATH", "CANARY", "RESULT", "REASON", "STATUS", "BYTES", "DURATION_S", "ERROR"],
        ["REGISTRY", "FROM_REGION", "REGION", "REPOSITORY", "RESULT", "REASON", "LAG_S", "DIGEST", "DURATION_S",
         "ERROR"],
        ["REGISTRY", "REGION", "REPOSITORY", "TAG", "PRESENT", "CHANGED", "DIGEST", "RESULT", "REASON", "STATUS",
         "ERROR"],
    ]  # fmt: skip
    assert [len(t) - 1 for t in tables] == [4, 1, 4]
    assert tables[2][1].split()[:6] == ["main", "primary", BASE, "stable", "yes", "no"]
