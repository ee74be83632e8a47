"""SLIs and SLOs computed in DuckDB SQL over the store (definitions: docs/slis.md).

- ``compute_slis``: pull success, first attempt, manifest latency, auth failures, egress and cost,
  cache hits, push success, over a time range, per group, from logs or probes.
- ``evaluate_slos``: every configured SLO at a point in time, with error budget, burn rates and the
  page / ticket / ok / no_data state the generated alerts would give.
- ``log_counters``: the all-time counters behind ``regwatch_log_*`` on /metrics.
- ``classified``: compute the retry rule of a range once and let the calls above (and the report's
  own queries, through the classify.sql macros) read that range's classified requests over it.
"""

from __future__ import annotations

from regwatch.slo.classified import ClassifiedRequests, classified
from regwatch.slo.counters import log_counters
from regwatch.slo.evaluate import SloStatus, evaluate_slo, evaluate_slos
from regwatch.slo.sli import SLI_FIELDS, compute_slis

__all__ = [
    "SLI_FIELDS",
    "ClassifiedRequests",
    "SloStatus",
    "classified",
    "compute_slis",
    "evaluate_slo",
    "evaluate_slos",
    "log_counters",
]
