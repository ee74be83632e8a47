"""The replication probe between two real registries, with skopeo standing in for replication."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from replication_helpers import REPO, Replicator, auth_path_yaml, manifest_status, samples, tags
from rig.registry import RunningRegistry

from regwatch.config import Config, parse_config
from regwatch.probe import run_round
from regwatch.probe.metrics import ProbeMetrics

DELAY = 1.5


def config(primary: RunningRegistry, replica: RunningRegistry, **opts: object) -> Config:
    extra = "".join(f", {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in opts.items())
    return parse_config(
        f"""
registries:
  - name: main
    regions: [{{name: primary, url: "{primary.url}"}}, {{name: replica, url: "{replica.url}"}}]
    auth_paths: [{{name: anonymous}}, {auth_path_yaml(primary)}]
replication:
  - {{registry: main, from_region: primary, auth_path: pusher, repository: {REPO}{extra}}}
probe: {{timeout_seconds: 10}}
""",
        "test.yaml",
    )


def test_lag_is_measured_and_the_canary_cleaned_up(make_registry: Callable[..., RunningRegistry]) -> None:
    primary, replica = make_registry(), make_registry()
    cfg = config(primary, replica, timeout_seconds=20, poll_interval_seconds=0.2, chunked=True)
    replicator = Replicator(primary, replica, REPO, DELAY).start()
    try:
        (result,) = run_round(cfg)
    finally:
        replicator.close()
    assert replicator.errors == []
    (tag,) = replicator.copied
    d = result.to_dict()
    assert (d["kind"], d["result"], d["reason"], d["region"], d["from_region"], d["reference"]) == (
        "replication", "success", None, "replica", "primary", tag,
    )  # fmt: skip
    assert tag.startswith("rw-") and len(tag) == len("rw-20240101T000000Z-") + 8
    # the lag spans the replicator's delay (and at most a poll interval after the copy ended)
    assert result.lag_seconds is not None and result.lag_seconds >= DELAY
    assert result.status == 200 and result.manifest_digest is not None
    # chunked upload: the probe PATCHed its blobs
    assert '"PATCH /v2/regwatch/replication-canary/blobs/uploads/' in primary.log_text()
    # cleanup: deleted by digest where it was pushed and where it arrived
    assert result.cleanup == "primary: deleted, replica: deleted"
    assert tags(primary, REPO) == [] and tags(replica, REPO) == []
    assert manifest_status(primary, REPO, result.manifest_digest) == 404

    metrics = ProbeMetrics(CollectorRegistry())
    metrics.observe(result)
    got = samples(generate_latest(metrics.registry).decode())
    lab = (("from_region", "primary"), ("region", "replica"), ("registry", "main"), ("repository", REPO))
    assert (
        got[("regwatch_probe_replication_total", (*lab[:3], ("repository", REPO), ("result", "success")))]
        == 1
    )
    assert (
        got[("regwatch_probe_replication_total", (*lab[:3], ("repository", REPO), ("result", "failure")))]
        == 0
    )
    assert got[("regwatch_probe_replication_lag_seconds_count", lab)] == 1
    assert got[("regwatch_probe_replication_lag_seconds_sum", lab)] == result.lag_seconds
    assert got[("regwatch_probe_replication_last_lag_seconds", lab)] == result.lag_seconds


def test_never_replicated_is_a_timeout(make_registry: Callable[..., RunningRegistry]) -> None:
    primary, replica = make_registry("htpasswd"), make_registry("htpasswd")
    cfg = config(primary, replica, timeout_seconds=1.5, poll_interval_seconds=0.3)
    (result,) = run_round(cfg)
    assert (result.result, result.reason, result.region, result.lag_seconds, result.status) == (
        "failure", "replication_timeout", "replica", None, 404,
    )  # fmt: skip
    assert result.error == "not replicated to replica within 1.5s (the tag is not there yet)"
    # monolithic upload (no PATCH); polled every 0.3 s for 1.5 s: 6 HEADs, the last at the window's end
    assert '"PATCH /v2/' not in primary.log_text()
    assert replica.log_text().count(f'"HEAD /v2/{REPO}/manifests/{result.reference} ') == 6
    assert result.cleanup == "primary: deleted"
    basic = "Basic " + base64.b64encode(f"{primary.username}:{primary.password}".encode()).decode()
    status, _, _ = primary.request(
        "HEAD", f"/v2/{REPO}/manifests/{result.reference}", {"Authorization": basic}
    )
    assert status == 404
    metrics = ProbeMetrics(CollectorRegistry())
    metrics.observe(result)
    got = samples(generate_latest(metrics.registry).decode())
    lab = (("from_region", "primary"), ("region", "replica"), ("registry", "main"), ("repository", REPO))
    assert got[("regwatch_probe_replication_last_lag_seconds", lab)] == 1.5
    assert ("regwatch_probe_replication_lag_seconds_count", lab) not in got  # no lag was measured
    assert got[("regwatch_probe_replication_total", (*lab, ("result", "failure")))] == 1


def test_keep_tags_and_deletes_disabled(make_registry: Callable[..., RunningRegistry]) -> None:
    primary, replica = make_registry(delete_enabled=False), make_registry()
    replicator = Replicator(primary, replica, REPO, 0.0).start()
    try:
        (result,) = run_round(config(primary, replica, timeout_seconds=20, poll_interval_seconds=0.1))
        (kept,) = run_round(
            config(primary, replica, timeout_seconds=20, poll_interval_seconds=0.1, keep_tags=True)
        )
    finally:
        replicator.close()
    assert (result.result, kept.result) == ("success", "success")
    assert result.cleanup == "primary: unsupported, replica: deleted"
    assert kept.cleanup is None
    assert tags(primary, REPO) == sorted([result.reference, kept.reference])
    assert tags(replica, REPO) == [kept.reference]


def test_push_refused_fails_every_target(
    make_registry: Callable[..., RunningRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, replica = make_registry("htpasswd"), make_registry("htpasswd")
    monkeypatch.setenv("REGWATCH_TEST_ROBOT_PASSWORD", "wrong-Pa55word")
    (result,) = run_round(config(primary, replica, timeout_seconds=5))
    assert (result.result, result.reason, result.status, result.lag_seconds) == (
        "failure",
        "unauthorized",
        401,
        None,
    )
    assert result.error is not None and result.error.startswith("pushing the canary to primary: HTTP 401")
    assert "wrong-Pa55word" not in result.error
    assert "HEAD /v2/" not in replica.log_text()  # nothing to wait for
