"""Probes: first-attempt canary pulls through every region and auth path, replication lag of a
pushed canary, protected-tag integrity; the probe matrix, and the probe metrics."""

from regwatch.probe.matrix import PLANNERS, Job, RoundContext, Selection, plan, run_round
from regwatch.probe.pull import PullTarget, probe_pull
from regwatch.probe.replication import ReplicationTarget, probe_replication
from regwatch.probe.result import COLUMNS, ProbeResult, store_results
from regwatch.probe.tags import load_previous_tags, probe_tag

__all__ = [
    "COLUMNS",
    "PLANNERS",
    "Job",
    "ProbeResult",
    "PullTarget",
    "ReplicationTarget",
    "RoundContext",
    "Selection",
    "load_previous_tags",
    "plan",
    "probe_pull",
    "probe_replication",
    "probe_tag",
    "run_round",
    "store_results",
]
