"""Every PromQL expression of every dashboard, run against a real Prometheus that scrapes a real
``regwatch serve`` probing a real registry and evaluates the generated recording and alert rules.

The config mirrors examples/regwatch.yaml (the same three SLOs) on the test rig: one docker-registry
serving two regions, a canary that pulls and one that is missing (so failures, error reasons, 404s in
the log and a firing canary alert exist), the registry's own log ingested, probes every second.
Each expression must parse and return at least one sample; the few that need data the rig cannot
make are listed in PARSE_ONLY with the reason, and must still parse.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from promql_vars import LABEL_VALUES, load_all, substitute, targets
from rig.oci_layout import ImageInfo
from rig.registry import RunningRegistry
from servekit import start_prometheus, start_serve, write_yaml

from regwatch.config import load_config
from regwatch.dashboards import generate_dashboards
from regwatch.rules import generate_rules

pytestmark = pytest.mark.slow

#: Values the test puts in for the dashboard variables (real label values of the scraped series).
VALUES = {"registry": "main", "region": "us-east-1", "auth_path": "anonymous"}

#: Panel title -> why the rig cannot produce its data. These expressions are only checked to parse.
PARSE_ONLY: dict[str, str] = {
    "Top failing repositories": "needs 5xx or 429 answers from the registry",
    "Registry storage used": "needs node_exporter's filesystem metrics",
    "Replication lag by region": "needs a replication probe with push rights between two registries",
    "Series folded into __other__": "needs more label values than serve.max_series_per_metric",
}
#: (panel title, legend) of single queries that cannot have data for the same kind of reason.
PARSE_ONLY_QUERIES: dict[tuple[str, str], str] = {
    ("Job failures and skipped rounds", "round {{outcome}}"): "needs a probe round slower than the interval",
}

DEADLINE = 120.0


def _config(reg: RunningRegistry, logdir: Path) -> dict[str, Any]:
    example = load_config(Path(__file__).parents[2] / "examples" / "regwatch.yaml")
    slos = [
        {
            "name": s.name, "sli": s.sli, "source": s.source, "objective": s.objective, "window": s.window,
            **({"threshold_seconds": s.threshold_seconds} if s.threshold_seconds is not None else {}),
        }
        for s in example.slos
    ]  # fmt: skip
    return {
        "registries": [
            {
                "name": "main",
                "regions": [{"name": "us-east-1", "url": reg.url}, {"name": "eu-west-1", "url": reg.url}],
                "auth_paths": [{"name": "anonymous"}],
                "canaries": [
                    {"repository": "platform/canary", "reference": "v1"},
                    {"repository": "platform/missing", "reference": "v1"},
                ],
            }
        ],
        "probe": {"interval_seconds": 1, "timeout_seconds": 10, "jitter_seconds": 0},
        "store": {"path": str(logdir / "regwatch.duckdb")},
        "logs": [{"path": str(reg.log_path), "format": "auto", "registry": "main", "region": "us-east-1"}],
        "slos": slos,
        "serve": {"ingest_interval_seconds": 1, "slo_interval_seconds": 1},
        "alerting": {"evaluation_interval": "1s", "exporter_job": "regwatch"},
        "protected_tags": [{"registry": "main", "repository": "platform/canary", "tags": ["v1"]}],
    }


def _has_data(result: list[dict[str, Any]]) -> bool:
    return len(result) > 0


def test_every_dashboard_query_returns_data_from_real_prometheus(
    tmp_path: Path, registry_anonymous: RunningRegistry, canary_image: Any
) -> None:
    info: ImageInfo = canary_image(registry_anonymous)
    assert info.manifest_digest
    cfg_dict = _config(registry_anonymous, tmp_path)
    cfg_path = write_yaml(tmp_path / "serve" / "regwatch.yaml", cfg_dict)
    cfg = load_config(cfg_path)

    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    rule_files = []
    for name, text in generate_rules(cfg).items():
        (rules_dir / name).write_text(text)
        rule_files.append(rules_dir / name)

    serve = start_serve(tmp_path / "serve", cfg_path)
    prom = start_prometheus(tmp_path, [serve.target], job_name="regwatch", rule_files=rule_files)
    # a malformed notification, so regwatch_notifications_total has an outcome with a rate
    serve.post("/v1/notifications", data=b"not json", headers={"Content-Type": "application/json"})

    dashboards = load_all(generate_dashboards(cfg))
    queries: list[tuple[str, str, str, str]] = []  # (dashboard, panel title, legend, expr)
    for fname, d in dashboards.items():
        for panel, target in targets(d):
            queries.append((fname, panel["title"], target.get("legendFormat", ""),
                            substitute(target["expr"], VALUES)))  # fmt: skip
    assert len(queries) >= 50, len(queries)
    titles = {q[1] for q in queries}
    assert set(PARSE_ONLY) <= titles, set(PARSE_ONLY) - titles
    assert {t for t, _ in PARSE_ONLY_QUERIES} <= titles

    def must_have_data(q: tuple[str, str, str, str]) -> bool:
        return q[1] not in PARSE_ONLY and (q[1], q[2]) not in PARSE_ONLY_QUERIES

    # Every expression parses (the query API answers 400 to a syntax error; prom.query raises).
    for q in queries:
        prom.query(q[3])

    pending = [q for q in queries if must_have_data(q)]
    deadline = time.monotonic() + DEADLINE
    while pending and time.monotonic() < deadline:
        pending = [q for q in pending if not _has_data(prom.query(q[3]))]
        if pending:
            time.sleep(0.5)
    missing = "\n".join(f"{d} / {t} [{lg}]: {e}" for d, t, lg, e in pending)
    assert not pending, (
        f"queries without data after {DEADLINE:.0f}s:\n{missing}\n--- serve log:\n"
        + (serve.log_text()[-3000:])
    )

    # The variables' label_values() queries, as Grafana runs them: the series API's label values.
    for fname, d in dashboards.items():
        for var in d["templating"]["list"]:
            if var["type"] != "query":
                continue
            m = LABEL_VALUES.match(var["query"])
            assert m, (fname, var["query"])
            params = {"match[]": substitute(m.group("match"), VALUES)} if m.group("match") else {}
            r = requests.get(f"{prom.url}/api/v1/label/{m.group('label')}/values", params=params, timeout=10)
            body = r.json()
            assert body["status"] == "success", body
            assert VALUES[var["name"]] in body["data"], (fname, var["name"], body["data"])

    # The canary that does not exist must show on the on-call dashboard's firing alerts.
    firing = prom.query('ALERTS{alertstate="firing"}')
    assert any(a["metric"]["alertname"] == "RegwatchCanaryFailing" for a in firing), firing
    prom.stop()
    assert serve.stop() == 0
