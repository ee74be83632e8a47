"""The catalogue of every metric regwatch exports, and the SLO constants built on them.

One source for every name: the exporter, the rules generator, the dashboards,
``docs/metrics.md`` and the tests all read this module. Never spell a metric
name or a label set anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- closed vocabularies ---------------------------------------------------------------------------

PROBE_REASONS: tuple[str, ...] = (
    "dns",
    "connect",
    "tls",
    "timeout",
    "unauthorized",
    "forbidden",
    "not_found",
    "rate_limited",
    "server_error",
    "token_error",
    "digest_mismatch",
    "size_mismatch",
    "manifest_invalid",
    "platform_missing",
    "protocol",
    "replication_timeout",
)
PROBE_RESULTS: tuple[str, ...] = ("success", "failure")
PROBE_PHASES: tuple[str, ...] = ("connect", "auth", "manifest", "config", "layers", "total")
PROBE_KINDS: tuple[str, ...] = ("pull", "replication", "tag")

ROUTES: tuple[str, ...] = (
    "ping",
    "manifest",
    "blob",
    "blob_upload",
    "tags",
    "catalog",
    "referrers",
    "token",
    "other",
)

#: Label value that untrusted, over-cardinality values are folded into.
OTHER_LABEL = "__other__"

# --- histogram buckets -----------------------------------------------------------------------------

#: Whole-pull duration buckets: 0.05 s .. 120 s with 0.5, 1, 2 and 5 among them. A latency SLO's
#: threshold must be one of these (the rules are computed from the bucket counters).
PULL_DURATION_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
)  # fmt: skip
PHASE_DURATION_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
REPLICATION_LAG_BUCKETS: tuple[float, ...] = (
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
)  # fmt: skip

# --- metrics ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One exported metric family: its full name (with ``_total`` for counters), type, help, labels."""

    name: str
    type: str  # counter | gauge | histogram | info
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    unit: str = ""  # Grafana unit for panels: s, bytes, percentunit, short, ...

    @property
    def family(self) -> str:
        """Return the family name as prometheus_client wants it (counters without ``_total``)."""
        if self.type == "counter" and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        if self.type == "info" and self.name.endswith("_info"):
            return self.name[: -len("_info")]
        return self.name


PROBE_LABELS: tuple[str, ...] = ("registry", "region", "auth_path", "canary")

PROBE_PULLS = Metric(
    "regwatch_probe_pulls_total", "counter",
    "First-attempt canary pulls by the probe, by result.",
    (*PROBE_LABELS, "result"), unit="short",
)  # fmt: skip
PROBE_ERRORS = Metric(
    "regwatch_probe_errors_total", "counter",
    "Failed probe pulls by the reason of the failure (a closed vocabulary).",
    (*PROBE_LABELS, "reason"), unit="short",
)  # fmt: skip
PROBE_PULL_DURATION = Metric(
    "regwatch_probe_pull_duration_seconds", "histogram",
    "Whole-pull duration of probe pulls (auth, manifest, config and layers), by result. The latency SLI "
    "counts only successful pulls under the threshold as good: a failed pull never met it.",
    (*PROBE_LABELS, "result"), PULL_DURATION_BUCKETS, unit="s",
)  # fmt: skip
PROBE_PHASE_DURATION = Metric(
    "regwatch_probe_phase_duration_seconds", "histogram",
    "Duration of each phase of a probe pull.",
    (*PROBE_LABELS, "phase"), PHASE_DURATION_BUCKETS, unit="s",
)  # fmt: skip
PROBE_PULL_BYTES = Metric(
    "regwatch_probe_pull_bytes_total", "counter",
    "Bytes downloaded by probe pulls (manifests and blobs).",
    PROBE_LABELS, unit="bytes",
)  # fmt: skip
PROBE_LAST_SUCCESS = Metric(
    "regwatch_probe_last_success_timestamp_seconds", "gauge",
    "Unix time of the last successful probe pull.",
    PROBE_LABELS, unit="dateTimeAsIso",
)  # fmt: skip
PROBE_CONSECUTIVE_FAILURES = Metric(
    "regwatch_probe_consecutive_failures", "gauge",
    "Probe rounds in a row in which this canary pull failed (0 after a success).",
    PROBE_LABELS, unit="short",
)  # fmt: skip
PROBE_ROUNDS = Metric(
    "regwatch_probe_rounds_total", "counter",
    "Probe rounds by outcome: completed, or skipped because the previous round was still running.",
    ("outcome",), unit="short",
)  # fmt: skip

REPLICATION_LABELS: tuple[str, ...] = ("registry", "from_region", "region", "repository")
REPLICATION_LAG = Metric(
    "regwatch_probe_replication_lag_seconds", "histogram",
    "Time from a canary push in the primary region until the tag resolves to the same digest in a region.",
    REPLICATION_LABELS, REPLICATION_LAG_BUCKETS, unit="s",
)  # fmt: skip
REPLICATION_LAST_LAG = Metric(
    "regwatch_probe_replication_last_lag_seconds", "gauge",
    "Replication lag measured by the last replication probe (the timeout when it never arrived).",
    REPLICATION_LABELS, unit="s",
)  # fmt: skip
REPLICATION_PROBES = Metric(
    "regwatch_probe_replication_total", "counter",
    "Replication probes by result.",
    (*REPLICATION_LABELS, "result"), unit="short",
)  # fmt: skip

TAG_LABELS: tuple[str, ...] = ("registry", "region", "repository", "tag")
TAG_PRESENT = Metric(
    "regwatch_tag_present", "gauge",
    "1 when the protected tag resolves in the region, 0 when it is missing.",
    TAG_LABELS, unit="short",
)  # fmt: skip
TAG_DIGEST_CHANGES = Metric(
    "regwatch_tag_digest_changes_total", "counter",
    "Times a protected tag was seen resolving to a different digest than the previous observation.",
    TAG_LABELS, unit="short",
)  # fmt: skip

SLO_OBJECTIVE = Metric(
    "regwatch_slo_objective_ratio", "gauge", "The SLO's objective (target good ratio).", ("slo",),
    unit="percentunit",
)  # fmt: skip
SLO_SLI = Metric(
    "regwatch_slo_sli_ratio", "gauge", "The SLI over the SLO window, computed from the store.", ("slo",),
    unit="percentunit",
)  # fmt: skip
SLO_BUDGET_REMAINING = Metric(
    "regwatch_slo_error_budget_remaining_ratio", "gauge",
    "Share of the error budget left over the SLO window (negative when overspent).", ("slo",),
    unit="percentunit",
)  # fmt: skip
SLO_BURN_RATE = Metric(
    "regwatch_slo_burn_rate", "gauge",
    "Error budget burn rate over a window (error ratio / (1 - objective)).", ("slo", "window"),
    unit="short",
)  # fmt: skip

LOG_LABELS: tuple[str, ...] = ("registry", "region")
LOG_REQUESTS = Metric(
    "regwatch_log_requests_total", "counter",
    "Registry requests seen in ingested logs, by route and HTTP status code.",
    (*LOG_LABELS, "route", "code"), unit="reqps",
)  # fmt: skip
LOG_PULLS = Metric(
    "regwatch_log_pulls_total", "counter",
    "Manifest GET pulls seen in ingested logs, by class (good, bad, excluded as in docs/slis.md) and "
    "attempt (first, retry).",
    (*LOG_LABELS, "class", "attempt"), unit="short",
)  # fmt: skip
LOG_PUSHES = Metric(
    "regwatch_log_pushes_total", "counter",
    "Manifest PUT pushes seen in ingested logs, by class (good, bad, excluded).",
    (*LOG_LABELS, "class"), unit="short",
)  # fmt: skip
LOG_AUTH_FAILURES = Metric(
    "regwatch_log_auth_failures_total", "counter",
    "Requests refused with 401 or 403 in ingested logs.",
    LOG_LABELS, unit="short",
)  # fmt: skip
LOG_EGRESS = Metric(
    "regwatch_log_egress_bytes_total", "counter",
    "Response bytes of GET blob and manifest requests with status 200 or 206 in ingested logs.",
    LOG_LABELS, unit="bytes",
)  # fmt: skip
LOG_REPO_FAILURES = Metric(
    "regwatch_log_repository_failures_total", "counter",
    "Bad requests (as in docs/slis.md: 5xx, 429, 499, 444) by repository in ingested logs; capped cardinality, overflow in __other__.",
    (*LOG_LABELS, "repository"), unit="short",
)  # fmt: skip

INGEST_LINES = Metric(
    "regwatch_ingest_lines_total", "counter",
    "Log lines ingested by result: accepted, ignored (not a request) or rejected.",
    ("source", "result"), unit="short",
)  # fmt: skip
INGEST_LAG = Metric(
    "regwatch_ingest_lag_seconds", "gauge",
    "Seconds between now and the newest timestamp ingested from the source.",
    ("source",), unit="s",
)  # fmt: skip

NOTIFICATIONS = Metric(
    "regwatch_notifications_total", "counter",
    "Registry notification envelopes received, by outcome (accepted, malformed, unauthorized, too_large).",
    ("outcome",), unit="short",
)  # fmt: skip
JOB_FAILURES = Metric(
    "regwatch_job_failures_total", "counter", "Scheduled jobs that raised, by task (not `job`: that is the scrape target's label).", ("task",), unit="short",
)  # fmt: skip
JOB_DURATION = Metric(
    "regwatch_job_duration_seconds", "gauge", "Duration of the last run of each scheduled job, by task.", ("task",),
    unit="s",
)  # fmt: skip
SERIES_CAPPED = Metric(
    "regwatch_series_capped_total", "counter",
    "Label sets folded into __other__ because a metric reached its series cap.", ("metric",), unit="short",
)  # fmt: skip
BUILD_INFO = Metric(
    "regwatch_build_info", "info", "regwatch build information.", ("version", "python_version"),
)  # fmt: skip

CATALOG: tuple[Metric, ...] = (
    PROBE_PULLS,
    PROBE_ERRORS,
    PROBE_PULL_DURATION,
    PROBE_PHASE_DURATION,
    PROBE_PULL_BYTES,
    PROBE_LAST_SUCCESS,
    PROBE_CONSECUTIVE_FAILURES,
    PROBE_ROUNDS,
    REPLICATION_LAG,
    REPLICATION_LAST_LAG,
    REPLICATION_PROBES,
    TAG_PRESENT,
    TAG_DIGEST_CHANGES,
    SLO_OBJECTIVE,
    SLO_SLI,
    SLO_BUDGET_REMAINING,
    SLO_BURN_RATE,
    LOG_REQUESTS,
    LOG_PULLS,
    LOG_PUSHES,
    LOG_AUTH_FAILURES,
    LOG_EGRESS,
    LOG_REPO_FAILURES,
    INGEST_LINES,
    INGEST_LAG,
    NOTIFICATIONS,
    JOB_FAILURES,
    JOB_DURATION,
    SERIES_CAPPED,
    BUILD_INFO,
)
BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOG}

# --- Grafana dashboards -----------------------------------------------------------------------------

#: Dashboard uids: the dashboards generator creates them, alerts link to them.
DASHBOARD_UIDS: dict[str, str] = {
    "executive": "regwatch-executive",
    "oncall": "regwatch-oncall",
    "debug": "regwatch-debug",
}

# --- SLO windows and burn-rate alerting ------------------------------------------------------------

#: Burn-rate windows, shortest first (Prometheus duration syntax).
BURN_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@dataclass(frozen=True)
class BurnCondition:
    """One multi-window condition: both windows' burn rates must exceed ``factor``."""

    long: str
    short: str
    factor: float


#: The multi-window multi-burn-rate policy (Google SRE workbook), by tier. Both the alert rules
#: and ``regwatch slo`` decide page/ticket from this one table.
BURN_POLICY: dict[str, tuple[BurnCondition, ...]] = {
    "page": (BurnCondition("1h", "5m", 14.4), BurnCondition("6h", "30m", 6.0)),
    "ticket": (BurnCondition("1d", "2h", 3.0), BurnCondition("3d", "6h", 1.0)),
}
TIERS: tuple[str, ...] = ("page", "ticket")

#: Classes of a pull or push (docs/slis.md), and attempts.
PULL_CLASSES: tuple[str, ...] = ("good", "bad", "excluded")
ATTEMPTS: tuple[str, ...] = ("first", "retry")

#: SLIs and where they can be computed from.
SLI_KINDS: dict[str, tuple[str, ...]] = {
    "pull_success": ("probes", "logs"),
    "first_attempt_success": ("probes", "logs"),
    "pull_latency": ("probes",),
    "push_success": ("logs",),
}
