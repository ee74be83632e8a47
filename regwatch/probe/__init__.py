"""Probes: first-attempt canary pulls through every region and auth path (and, later, replication
and tag probes), the probe matrix, and the probe metrics."""

from regwatch.probe.matrix import PLANNERS, Job, RoundContext, Selection, plan, run_round
from regwatch.probe.pull import PullTarget, probe_pull
from regwatch.probe.result import COLUMNS, ProbeResult, store_results

__all__ = [
    "COLUMNS",
    "PLANNERS",
    "Job",
    "ProbeResult",
    "PullTarget",
    "RoundContext",
    "Selection",
    "plan",
    "probe_pull",
    "run_round",
    "store_results",
]
