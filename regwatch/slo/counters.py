"""All-time log counters behind the exporter's ``regwatch_log_*`` metrics.

Built on the same classification SQL as the SLIs (``sql/classify.sql``), so a pull the ``sli``
command counts as bad is a bad pull on /metrics too.
"""

from __future__ import annotations

from typing import Any

from regwatch import catalog
from regwatch.config import Config
from regwatch.slo._sql import install_macros, run
from regwatch.slo.windows import ALL_TIME_END, ALL_TIME_START, microseconds
from regwatch.store import Store

_FILES: dict[catalog.Metric, str] = {
    catalog.LOG_REQUESTS: "counters_requests.sql",
    catalog.LOG_PULLS: "counters_pulls.sql",
    catalog.LOG_PUSHES: "counters_pushes.sql",
    catalog.LOG_AUTH_FAILURES: "counters_auth_failures.sql",
    catalog.LOG_EGRESS: "counters_egress.sql",
    catalog.LOG_REPO_FAILURES: "counters_repository_failures.sql",
}


def log_counters(store: Store, cfg: Config | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Return, per catalogue metric name, rows of (label values in the metric's label order..., value).

    Totals over everything in the store. ``cfg`` supplies the retry window (default 60 s) that splits
    pulls into first attempts and retries.
    """
    install_macros(store)
    retry = cfg.sli.retry_window_seconds if cfg is not None else Config().sli.retry_window_seconds
    params = {
        "lookback": ALL_TIME_START,
        "lo": ALL_TIME_START,
        "hi": ALL_TIME_END,
        "retry_us": microseconds(retry),
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    for metric, name in _FILES.items():
        rows = run(store, name, params if metric is catalog.LOG_PULLS else None)
        out[metric.name] = [tuple(r[label] for label in metric.labels) + (int(r["value"]),) for r in rows]
    return out
