"""A replica that never receives the canary must not hold back the pull probes on-call pages from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rig.net import wait_until
from servekit import start_serve


def test_pull_rounds_go_on_while_a_replication_round_waits(
    tmp_path: Path, make_registry: Callable[..., Any], canary_image: Callable[..., Any]
) -> None:
    primary = make_registry(mode="anonymous")
    replica = make_registry(mode="anonymous")  # nothing ever copies the canary here
    canary_image(primary)
    config = {
        "registries": [{
            "name": "main",
            "regions": [{"name": "primary", "url": primary.url}, {"name": "replica", "url": replica.url}],
            "auth_paths": [{"name": "anonymous", "push": True}],
            "canaries": [{"repository": "platform/canary", "reference": "v1"}],
        }],
        "probe": {"interval_seconds": 1, "jitter_seconds": 0, "timeout_seconds": 10},
        "replication": [{"registry": "main", "from_region": "primary", "auth_path": "anonymous",
                         "repository": "regwatch/replication-canary", "timeout_seconds": 30,
                         "poll_interval_seconds": 0.5}],
    }  # fmt: skip
    with start_serve(tmp_path, config) as serve:
        labels = {"registry": "main", "region": "primary", "auth_path": "anonymous", "result": "success"}
        # Pull rounds every second keep completing (in both regions' series) while the one
        # replication round is still polling the replica for its 30 s timeout.
        wait_until(lambda: (serve.sample("regwatch_probe_pulls_total", **labels) or 0) >= 3, timeout=25)
        assert serve.sample("regwatch_probe_replication_total", result="failure") in (None, 0.0)
        assert serve.sample("regwatch_probe_replication_total", result="success") in (None, 0.0)
        failed_pulls = serve.sample("regwatch_probe_pulls_total", region="replica", result="failure")
        assert failed_pulls is not None and failed_pulls >= 3  # the replica has no canary: not_found
