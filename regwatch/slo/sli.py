"""SLIs over a time range, per group, from logs or from probes (definitions: docs/slis.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from regwatch.config import Config
from regwatch.errors import UsageError
from regwatch.slo._sql import install_macros, run
from regwatch.slo.classified import ClassifiedRequests, retry_set
from regwatch.slo.windows import naive_utc
from regwatch.store import Store

#: The figures of one SLI row, in output order (the keys of ``regwatch sli --json`` after the group keys).
SLI_FIELDS: tuple[str, ...] = (
    "pulls_good",
    "pulls_bad",
    "pulls_excluded",
    "pull_success_ratio",
    "first_attempt_success_ratio",
    "manifest_latency_p50_seconds",
    "manifest_latency_p95_seconds",
    "manifest_latency_p99_seconds",
    "auth_failures",
    "auth_failure_ratio",
    "egress_bytes",
    "egress_bytes_per_pull",
    "egress_cost_usd",
    "cache_hit_ratio",
    "push_success_ratio",
)

#: Group keys of each ``--by`` value (regions, repositories and auth paths belong to a registry).
GROUP_KEYS: dict[str | None, tuple[str, ...]] = {
    None: (),
    "registry": ("registry",),
    "region": ("registry", "region"),
    "repository": ("registry", "repository"),
    "auth_path": ("registry", "auth_path"),
}

#: Which ``--by`` values each source can group by.
BY_FOR_SOURCE: dict[str, tuple[str | None, ...]] = {
    "logs": (None, "registry", "region", "repository"),
    "probes": (None, "registry", "region", "repository", "auth_path"),
}

_COUNT_FIELDS = ("pulls_good", "pulls_bad", "pulls_excluded", "auth_failures", "egress_bytes")


def check_selection(by: str | None, source: str) -> None:
    """Raise UsageError for an unknown source or grouping, or one the source cannot give."""
    if source not in BY_FOR_SOURCE:
        raise UsageError(f"--source must be logs or probes (got {source!r})")
    if by not in GROUP_KEYS:
        raise UsageError(f"--by must be one of registry, region, repository, auth_path (got {by!r})")
    if by not in BY_FOR_SOURCE[source]:
        raise UsageError(f"--by {by} needs --source probes: registry logs carry no auth path")


def empty_row() -> dict[str, Any]:
    """The ungrouped row of a range without data: counts 0, every ratio and percentile null."""
    row: dict[str, Any] = dict.fromkeys(SLI_FIELDS)
    row.update(dict.fromkeys(_COUNT_FIELDS, 0))
    row["egress_cost_usd"] = 0.0
    return row


def compute_slis(
    store: Store,
    cfg: Config,
    *,
    start: datetime,
    end: datetime,
    by: str | None = None,
    source: Literal["logs", "probes"] = "logs",
    per_day: bool = False,
    data: ClassifiedRequests | None = None,
) -> list[dict[str, Any]]:
    """Compute the SLIs of events with start < ts <= end, one dict per group (group keys first).

    Without ``by`` and ``per_day`` there is exactly one row, even for a range without data (counts 0,
    ratios None). With ``per_day`` every group is split by UTC day: each row starts with ``day``, the
    naive UTC midnight opening the day ``(day, day + 1d]`` (clipped to the range) it counts; days
    without data have no row. ``data`` (``regwatch.slo.classified``) reuses a retry set computed once.
    """
    check_selection(by, source)
    lo, hi = naive_utc(start), naive_utc(end)
    if lo >= hi:
        raise UsageError(
            f"the range is empty: --from {start.isoformat()} is not before --to {end.isoformat()}"
        )
    prices = {k: v for k, v in cfg.egress.usd_per_gib.items() if k != "default"}
    params: dict[str, Any] = {
        "by": by,
        "per_day": per_day,
        "lo": lo,
        "hi": hi,
        "price_regions": list(prices),
        "price_values": list(prices.values()),
        "default_price": cfg.egress.usd_per_gib.get("default", 0.0),  # as EgressConfig.price
    }
    install_macros(store)  # the classification, and rw_ratio for both sources
    if source == "logs":
        with retry_set(store, cfg, lo, hi, data) as retries:
            raw = run(store, "sli_logs.sql", {**params, "retries": retries})
    else:
        raw = run(store, "sli_probes.sql", params)
    keys = GROUP_KEYS[by]
    rows: list[dict[str, Any]] = []
    for r in raw:
        row: dict[str, Any] = {}
        if per_day:
            row["day"] = r["k_day"]
        if keys:
            row[keys[0]] = r["k_registry"]
        if len(keys) > 1:
            row[keys[1]] = r["k_sub"]
        row.update({f: r[f] for f in SLI_FIELDS})
        rows.append(row)
    if not rows and by is None and not per_day:
        rows.append(empty_row())
    return rows
