"""Symptom alerts on-call needs beside the SLOs, each with the promtool cases that make it fire.

A case is a set of input series (promtool expanding notation, one sample per evaluation step), the
step at which to evaluate, and the exact alert instances (labels and value) expected then — including
series that must *not* alert, which are simply absent from the expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from regwatch import catalog
from regwatch.config import Config
from regwatch.rules.model import DASHBOARD_EXPORTER, DASHBOARD_LOGS, DASHBOARD_PROBES, Alert, Group
from regwatch.rules.slo import num, pct
from regwatch.rules.spec import promql_string, selector, series
from regwatch.timeutil import format_duration, parse_duration

CANARY_FAILING = "RegwatchCanaryFailing"
PROBES_STALE = "RegwatchProbesStale"
AUTH_FAILURES = "RegwatchAuthFailureRatioHigh"
REPLICATION_LAG = "RegwatchReplicationLagHigh"
TAG_MISSING = "RegwatchProtectedTagMissing"
TAG_MOVED = "RegwatchProtectedTagMoved"
STORAGE_HIGH = "RegwatchStorageUsageHigh"
INGEST_STALLED = "RegwatchIngestStalled"
EXPORTER_DOWN = "RegwatchExporterDown"

#: The window of rate-based symptom alerts.
AUTH_RANGE = "15m"
INGEST_RANGE = "10m"
ABSENT_FOR = "5m"
STORAGE_FOR = "15m"


def default_storage_expr(mountpoint: str) -> str:
    """node_exporter's used ratio of the filesystem holding the registry's storage."""
    m = selector("", [("mountpoint", "=", mountpoint)])
    return f"1 - (node_filesystem_avail_bytes{m} / node_filesystem_size_bytes{m})"


@dataclass(frozen=True)
class Case:
    """One promtool test group for a symptom alert."""

    name: str
    inputs: list[tuple[str, str]]  # (series, values in promtool expanding notation)
    eval_steps: int  # evaluate after this many evaluation steps
    expected: list[tuple[dict[str, str], float]] = field(default_factory=list)  # (result labels, value)


@dataclass(frozen=True)
class Symptom:
    alert: Alert
    cases: list[Case]


def _probe_labels(cfg: Config) -> tuple[dict[str, str], dict[str, str]]:
    """Two probe label sets in different regions (or auth paths) for the test cases."""
    reg = next((r for r in cfg.registries if r.canaries), cfg.registries[0] if cfg.registries else None)
    name = reg.name if reg else "main"
    regions = [g.name for g in reg.regions] if reg else ["us-east-1", "eu-west-1"]
    auths = [a.name for a in reg.auth_paths] if reg else ["anonymous"]
    canary = reg.canaries[0].label if reg and reg.canaries else "platform/canary:v1"
    a = {"registry": name, "region": regions[0], "auth_path": auths[0], "canary": canary}
    if len(regions) > 1:
        b = {**a, "region": regions[1]}
    else:
        b = {**a, "auth_path": auths[1] if len(auths) > 1 else "other"}
    return a, b


def _sub(labels: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: labels[k] for k in keys}


def build(cfg: Config) -> list[Symptom]:
    """Every symptom alert that applies to the config, in a fixed order."""
    al = cfg.alerting
    dash = al.dashboard_base_url.rstrip("/")
    base = al.runbook_base_url.rstrip("#")

    def alert(
        name: str, severity: str, window: str, expr: str, summary: str, description: str, board: str,
        for_: str | None = None,
    ) -> Alert:  # fmt: skip
        return Alert(
            alert=name,
            expr=expr,
            labels=(("severity", severity), ("tier", severity), ("window", window)),
            summary=summary,
            description=description,
            runbook_url=f"{base}#{name.lower()}",
            dashboard_url=f"{dash}/{board}",
            for_=for_,
        )

    out: list[Symptom] = []
    a, b = _probe_labels(cfg)
    by_path = ("registry", "region", "auth_path")
    n = al.consecutive_failures
    interval = cfg.probe.interval_seconds
    out.append(Symptom(
        alert(
            CANARY_FAILING, "page", format_duration(n * interval),
            f"max by (registry, region, auth_path) ({catalog.PROBE_CONSECUTIVE_FAILURES.name}) >= {n}\n",
            "Canary pulls from {{ $labels.region }} via {{ $labels.auth_path }} fail on registry "
            "{{ $labels.registry }}",
            "The canary pull of registry {{ $labels.registry }} from region {{ $labels.region }} through auth "
            'path {{ $labels.auth_path }} has failed {{ printf "%.0f" $value }} probe rounds in a row '
            f"(alert at {n}, a round every {num(interval)}s): clients there cannot pull.",
            DASHBOARD_PROBES,
        ),
        [Case(
            "canary failing in one region only",
            [
                (series(catalog.PROBE_CONSECUTIVE_FAILURES.name, a), f"0+1x{n + 2}"),
                (series(catalog.PROBE_CONSECUTIVE_FAILURES.name, b), f"0+1x{n - 1} {n - 1}x3"),
            ],
            n + 2,
            [(_sub(a, *by_path), float(n + 2))],
        )],
    ))  # fmt: skip

    stale = format_duration(max(600.0, 5 * interval))
    pulls = catalog.PROBE_PULLS.name
    expected_regions = [(r.name, g.name) for r in cfg.registries if r.canaries for g in r.regions] or [
        (a["registry"], a["region"])
    ]
    absent = "".join(
        f"or absent({selector(pulls, [('registry', '=', r), ('region', '=', g)])})\n"
        for r, g in expected_regions
    )
    steps_stale = int(parse_duration(stale) // parse_duration(al.evaluation_interval))
    steps_for = int(parse_duration(ABSENT_FOR) // parse_duration(al.evaluation_interval))
    out.append(Symptom(
        alert(
            PROBES_STALE, "ticket", stale,
            f"sum by (registry, region, auth_path) (increase({pulls}[{stale}])) == 0\n{absent}",
            "No canary pulls recorded for registry {{ $labels.registry }} in {{ $labels.region }}",
            f"regwatch has recorded no canary pull of registry {{{{ $labels.registry }}}} from region "
            f"{{{{ $labels.region }}}} in the last {stale} (or the series is missing): the probes are not "
            "running or their metrics do not reach Prometheus, so the pull SLOs are blind there.",
            DASHBOARD_PROBES, ABSENT_FOR,
        ),
        [
            Case(
                "one region's probes stopped counting",
                [
                    (series(pulls, {**a, "result": "success"}), f"0+6x{steps_stale + steps_for + 2}"),
                    (series(pulls, {**b, "result": "success"}), f"42x{steps_stale + steps_for + 2}"),
                ],
                steps_stale + steps_for + 2,
                [(_sub(b, *by_path), 0.0)],
            ),
            Case(
                "no probe series at all",
                [(series("up", {"job": al.exporter_job, "instance": "127.0.0.1:9817"}), f"1x{steps_for + 2}")],
                steps_for + 2,
                [({"registry": r, "region": g}, 1.0) for r, g in expected_regions],
            ),
        ],
    ))  # fmt: skip

    req = catalog.LOG_REQUESTS.name
    not_ping = [("route", "!=", "ping")]
    total = f"sum by (registry, region) (increase({selector(req, not_ping)}[{AUTH_RANGE}]))"
    refused = f"sum by (registry, region) (increase({selector(req, [*not_ping, ('code', '=~', '401|403')])}[{AUTH_RANGE}]))"
    la = {"registry": cfg.logs[0].registry if cfg.logs else a["registry"],
          "region": cfg.logs[0].region if cfg.logs else a["region"]}  # fmt: skip
    lb = {**la, "region": b["region"] if b["region"] != la["region"] else a["region"]}
    if lb == la:
        lb = {**la, "region": "other"}
    steps_auth = int(parse_duration(AUTH_RANGE) // parse_duration(al.evaluation_interval)) + 5
    out.append(Symptom(
        alert(
            AUTH_FAILURES, "ticket", AUTH_RANGE,
            f"(\n  {refused}\n  / clamp_min({total}, 1)\n  > {num(al.auth_failure_ratio)}\n)\n"
            f"and on(registry, region) (\n  {total}\n  >= {al.min_events}\n)\n",
            "Many requests to {{ $labels.registry }} in {{ $labels.region }} are refused (401/403)",
            "{{ $value | humanizePercentage }} of the requests to registry {{ $labels.registry }} in "
            f"{{{{ $labels.region }}}} over the last {AUTH_RANGE} were refused with 401 or 403 (threshold "
            f"{pct(al.auth_failure_ratio)}; the unauthenticated /v2/ challenge is not counted). Expired or "
            "mis-scoped tokens, a rotated robot password, or a broken token service.",
            DASHBOARD_LOGS,
        ),
        [Case(
            "one region refuses a fifth of its requests",
            [
                (series(req, {**la, "route": "manifest", "code": "200"}), f"0+80x{steps_auth}"),
                (series(req, {**la, "route": "manifest", "code": "401"}), f"0+20x{steps_auth}"),
                (series(req, {**la, "route": "ping", "code": "401"}), f"0+100x{steps_auth}"),
                (series(req, {**lb, "route": "blob", "code": "200"}), f"0+95x{steps_auth}"),
                (series(req, {**lb, "route": "blob", "code": "403"}), f"0+5x{steps_auth}"),
            ],
            steps_auth,
            [(la, 0.2)],
        )],
    ))  # fmt: skip

    if cfg.replication:
        rep = cfg.replication[0]
        reg = cfg.registry(rep.registry)
        others = rep.to_regions or [g.name for g in reg.regions if g.name != rep.from_region] or ["other"]
        lag = catalog.REPLICATION_LAST_LAG.name
        ra = {"registry": rep.registry, "from_region": rep.from_region, "region": others[0],
              "repository": rep.repository}  # fmt: skip
        rb = {**ra, "from_region": "elsewhere"}
        over = al.replication_lag_seconds * 2
        out.append(Symptom(
            alert(
                REPLICATION_LAG, "ticket", "instant",
                f"max by (registry, from_region, region) ({lag}) > {num(al.replication_lag_seconds)}\n",
                "Replication of {{ $labels.registry }} to {{ $labels.region }} is slow",
                "The last replication probe of registry {{ $labels.registry }} took "
                '{{ printf "%.0f" $value }}s from {{ $labels.from_region }} to {{ $labels.region }} '
                f"(threshold {num(al.replication_lag_seconds)}s): new tags are not visible there yet.",
                DASHBOARD_PROBES,
            ),
            [Case(
                "one region lags",
                [(series(lag, ra), f"{num(over)}x3"), (series(lag, rb), "30x3")],
                2,
                [(_sub(ra, "registry", "from_region", "region"), over)],
            )],
        ))  # fmt: skip

    if cfg.protected_tags:
        pt = cfg.protected_tags[0]
        reg = cfg.registry(pt.registry)
        region = (pt.regions or [g.name for g in reg.regions])[0]
        present = catalog.TAG_PRESENT.name
        ta = {"registry": pt.registry, "region": region, "repository": pt.repository, "tag": pt.tags[0]}
        tb = {**ta, "tag": pt.tags[1] if len(pt.tags) > 1 else "other"}
        out.append(Symptom(
            alert(
                TAG_MISSING, "page", "instant",
                f"min by (registry, region, repository, tag) ({present}) == 0\n",
                "Protected tag {{ $labels.repository }}:{{ $labels.tag }} is missing in {{ $labels.region }}",
                "The protected tag {{ $labels.repository }}:{{ $labels.tag }} no longer resolves in region "
                "{{ $labels.region }} of registry {{ $labels.registry }}: deployments pulling it fail. "
                "Garbage collection or a retention policy deleted it, or replication lost it.",
                DASHBOARD_PROBES,
            ),
            [Case("one protected tag vanished", [(series(present, ta), "1 0 0"), (series(present, tb), "1 1 1")],
                  2, [(ta, 0.0)])],
        ))  # fmt: skip
        changes = catalog.TAG_DIGEST_CHANGES.name
        by = "registry, region, repository, tag"
        out.append(Symptom(
            alert(
                TAG_MOVED, "page", "instant",
                # The second arm catches a series whose first sample is already 1 (increase() would
                # miss that change), e.g. a tag that moved in the exporter's first round.
                f"sum by ({by}) (increase({changes}[15m])) > 0\n"
                f"or (max by ({by}) ({changes}) > 0 unless on({by}) max by ({by}) ({changes} offset 15m))\n",
                "Protected tag {{ $labels.repository }}:{{ $labels.tag }} moved in {{ $labels.region }}",
                "The protected tag {{ $labels.repository }}:{{ $labels.tag }} in region {{ $labels.region }} "
                "of registry {{ $labels.registry }} now resolves to a different digest than before: someone "
                "re-pushed it, or it was tampered with. Deployments pinned to the tag get a different image.",
                DASHBOARD_PROBES,
            ),
            [Case("one protected tag re-pointed",
                  [(series(changes, ta), "0 0 1 1"), (series(changes, tb), "0 0 0 0")], 3, [(ta, 1.0)])],
        ))  # fmt: skip

    storage = al.storage_usage_expr
    if storage != "":
        expr = storage if storage is not None else default_storage_expr(al.storage_mountpoint)
        steps = int(parse_duration(STORAGE_FOR) // parse_duration(al.evaluation_interval)) + 2
        fs = {"device": "/dev/vdb", "fstype": "ext4", "instance": "registry-host:9100", "job": "node",
              "mountpoint": al.storage_mountpoint}  # fmt: skip
        cases = []
        if storage is None:  # a custom expression's inputs cannot be synthesised
            cases.append(Case(
                "the registry volume is 80% full",
                [
                    (series("node_filesystem_avail_bytes", fs), f"20x{steps}"),
                    (series("node_filesystem_size_bytes", fs), f"100x{steps}"),
                    (series("node_filesystem_avail_bytes", {**fs, "mountpoint": "/"}), f"1x{steps}"),
                    (series("node_filesystem_size_bytes", {**fs, "mountpoint": "/"}), f"100x{steps}"),
                ],
                steps,
                [(fs, 0.8)],
            ))  # fmt: skip
        out.append(Symptom(
            alert(
                STORAGE_HIGH, "ticket", "instant",
                f"(\n  {expr.strip()}\n) > {num(al.storage_usage_ratio)}\n",
                "Registry storage is {{ $value | humanizePercentage }} full",
                "The registry's storage is {{ $value | humanizePercentage }} full (threshold "
                f"{pct(al.storage_usage_ratio)}, for {STORAGE_FOR}). Pushes fail with quota or disk-full errors "
                "once it fills up.",
                DASHBOARD_EXPORTER, STORAGE_FOR,
            ),
            cases,
        ))  # fmt: skip

    lag_name = catalog.INGEST_LAG.name
    src = cfg.logs[0].path if cfg.logs else "registry.log"
    ia, ib = {"source": src}, {"source": src + ".catching-up"}
    steps = int(parse_duration(INGEST_RANGE) // parse_duration(al.evaluation_interval)) + 10
    start = max(0.0, al.ingest_lag_seconds - 300)
    grow = parse_duration(al.evaluation_interval)
    out.append(Symptom(
        alert(
            INGEST_STALLED, "ticket", INGEST_RANGE,
            f"(\n  {lag_name} > {num(al.ingest_lag_seconds)}\n)\n"
            f"and (\n  deriv({lag_name}[{INGEST_RANGE}]) > 0\n)\n",
            "Log ingest of {{ $labels.source }} is stalled",
            'The newest ingested line of {{ $labels.source }} is {{ printf "%.0f" $value }}s old and the lag '
            f"is still growing (threshold {num(al.ingest_lag_seconds)}s): SLOs and queries from logs are "
            "going stale.",
            DASHBOARD_LOGS,
        ),
        [Case(
            "one source stalled, another catching up",
            [
                (series(lag_name, ia), f"{num(start)}+{num(grow)}x{steps}"),
                (series(lag_name, ib), f"{num(start + 3 * al.ingest_lag_seconds)}-{num(grow / 2)}x{steps}"),
            ],
            steps,
            [(ia, start + grow * steps)],
        )],
    ))  # fmt: skip

    job = promql_string(al.exporter_job)
    steps_down = steps_for + 2
    out.append(Symptom(
        alert(
            EXPORTER_DOWN, "page", ABSENT_FOR,
            f"up{{job={job}}} == 0\nor absent(up{{job={job}}})\n",
            "regwatch exporter {{ $labels.instance }} is down",
            f"Prometheus cannot scrape regwatch serve (job {al.exporter_job}, instance "
            "{{ $labels.instance }}): no probe, SLO or log metrics arrive, so every regwatch alert is blind.",
            DASHBOARD_EXPORTER, ABSENT_FOR,
        ),
        [
            Case(
                "scrape failing",
                [(series("up", {"job": al.exporter_job, "instance": "127.0.0.1:9817"}), f"0x{steps_down}")],
                steps_down,
                [({"job": al.exporter_job, "instance": "127.0.0.1:9817"}, 0.0)],
            ),
            Case(
                "scrape job missing",
                [(series("up", {"job": "something-else", "instance": "x:1"}), f"1x{steps_down}")],
                steps_down,
                [({"job": al.exporter_job}, 1.0)],
            ),
        ],
    ))  # fmt: skip
    return out


def group(cfg: Config, symptoms: list[Symptom]) -> Group:
    """The symptom alerts as one rule group."""
    return Group("regwatch-symptoms", cfg.alerting.evaluation_interval, [s.alert for s in symptoms])
