"""The probe matrix: which probes one round runs, and running them with bounded concurrency.

Each probe kind has a *planner* that turns the config and a selection into jobs; a job returns
one or more results (a replication probe reports one per target region). ``run_round`` runs the
jobs of every planner in a thread pool. Each kind (``pull``, ``replication``, ``tag``) is one
planner in ``PLANNERS``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from regwatch.config import AuthPath, Config, ProtectedTags, Region
from regwatch.errors import UsageError
from regwatch.oci import TokenCache
from regwatch.probe.pull import PullTarget, probe_pull
from regwatch.probe.replication import ReplicationTarget, probe_replication, replication_targets
from regwatch.probe.result import ProbeResult
from regwatch.probe.tags import TagKey, load_previous_tags, previous_for, probe_tag, tag_jobs
from regwatch.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """Which probes to run: ``None`` means every value. ``canary`` matches a label or a repository."""

    registry: str | None = None
    region: str | None = None
    auth_path: str | None = None
    canary: str | None = None
    kinds: tuple[str, ...] | None = None

    def wants_kind(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


@dataclass
class RoundContext:
    """What the jobs of one round share: its id, its clock and (optionally) a token cache."""

    cfg: Config
    round_id: str
    started_at: datetime
    started_monotonic: float
    tokens: TokenCache | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def now(self) -> datetime:
        """The round's clock: its start time plus the monotonic time elapsed since."""
        return self.started_at + timedelta(seconds=time.monotonic() - self.started_monotonic)


@dataclass(frozen=True)
class Job:
    """One unit of work of a round."""

    kind: str
    describe: str
    run: Callable[[RoundContext], list[ProbeResult]]


Planner = Callable[[Config, Selection], list[Job]]


def pull_targets(cfg: Config, selection: Selection) -> list[PullTarget]:
    """Every (registry, region, auth path, canary) the selection keeps, in config order."""
    return [
        PullTarget(reg.name, region, ap, canary)
        for reg in cfg.registries
        if selection.registry in (None, reg.name)
        for region in reg.regions
        if selection.region in (None, region.name)
        for ap in reg.auth_paths
        if selection.auth_path in (None, ap.name)
        for canary in reg.canaries
        if selection.canary in (None, canary.label, canary.repository)
    ]


def plan_pulls(cfg: Config, selection: Selection) -> list[Job]:
    """One pull job per matrix cell."""

    def job(target: PullTarget) -> Job:
        def run(ctx: RoundContext) -> list[ProbeResult]:
            return [
                probe_pull(
                    target, ctx.cfg.probe, tokens=ctx.tokens, started_at=ctx.now(), round_id=ctx.round_id
                )
            ]

        what = (
            f"pull {target.canary.label} via {target.registry}/{target.region.name}/{target.auth_path.name}"
        )
        return Job("pull", what, run)

    return [job(t) for t in pull_targets(cfg, selection)]


def plan_replication(cfg: Config, selection: Selection) -> list[Job]:
    """One replication job per configured replication probe (it reports one result per target)."""

    def job(target: ReplicationTarget) -> Job:
        def run(ctx: RoundContext) -> list[ProbeResult]:
            stop = ctx.extra.get("stop")
            return probe_replication(
                target,
                ctx.cfg.probe,
                started_at=ctx.now(),
                round_id=ctx.round_id,
                stop=stop if isinstance(stop, threading.Event) else None,
            )

        names = ",".join(r.name for r in target.targets)
        return Job(
            "replication", f"replication {target.spec.repository} {target.from_region.name} -> {names}", run
        )

    return [job(t) for t in replication_targets(cfg, selection)]


def plan_tags(cfg: Config, selection: Selection) -> list[Job]:
    """One job per protected tag and region; "changed" compares with the round's previous digests."""

    def job(what: str, pt: ProtectedTags, region: Region, ap: AuthPath, tag: str) -> Job:
        def run(ctx: RoundContext) -> list[ProbeResult]:
            previous = ctx.extra.get("previous_tags")
            key: TagKey = (pt.registry, region.name, pt.repository, tag)
            return [
                probe_tag(
                    pt.registry, region, ap, pt.repository, tag, ctx.cfg.probe,
                    previous=previous_for(previous if isinstance(previous, Mapping) else None, key),
                    started_at=ctx.now(), round_id=ctx.round_id,
                )
            ]  # fmt: skip

        return Job("tag", what, run)

    return [job(*t) for t in tag_jobs(cfg, selection)]


#: Probe kinds and their planners, in the order their results are reported.
PLANNERS: dict[str, Planner] = {"pull": plan_pulls, "replication": plan_replication, "tag": plan_tags}


def check_selection(cfg: Config, selection: Selection) -> None:
    """Raise UsageError when a selected name is not in the config at all."""
    regs = [r for r in cfg.registries if selection.registry in (None, r.name)]
    where = cfg.source
    if selection.registry is not None and not regs:
        raise UsageError(f"--registry {selection.registry}: no such registry in {where}")
    if selection.region is not None and not any(g.name == selection.region for r in regs for g in r.regions):
        raise UsageError(f"--region {selection.region}: no such region in {where}")
    if selection.auth_path is not None and not any(
        a.name == selection.auth_path for r in regs for a in r.auth_paths
    ):
        raise UsageError(f"--auth-path {selection.auth_path}: no such auth path in {where}")
    names = {n for r in regs for c in r.canaries for n in (c.label, c.repository)}
    names |= {rep.repository for rep in cfg.replication}
    names |= {
        n for pt in cfg.protected_tags for t in pt.tags for n in (pt.repository, f"{pt.repository}:{t}")
    }
    if selection.canary is not None and selection.canary not in names:
        raise UsageError(f"--canary {selection.canary}: no such canary or repository in {where}")


def plan(cfg: Config, selection: Selection | None = None) -> list[Job]:
    """Every job of one round for ``selection`` (all probes when None)."""
    selection = selection or Selection()
    check_selection(cfg, selection)
    return [
        job
        for kind, planner in PLANNERS.items()
        if selection.wants_kind(kind)
        for job in planner(cfg, selection)
    ]


def _run_job(job: Job, ctx: RoundContext) -> list[ProbeResult]:
    try:
        return job.run(ctx)
    except Exception:  # noqa: BLE001 - jobs record failures themselves; this is the last guard
        log.exception("probe job crashed: %s", job.describe)
        return []


def run_round(
    cfg: Config,
    *,
    selection: Selection | None = None,
    now: datetime | None = None,
    store: object | None = None,
    previous_tags: Mapping[TagKey, str] | None = None,
    stop: threading.Event | None = None,
) -> list[ProbeResult]:
    """Run one round of every probe in the config (filtered by ``selection``); never raises for a
    failed probe. Results come back in plan order; ``now`` pins the round's start time.

    Tag probes say whether a tag moved by comparing with the last digest it was seen at:
    ``previous_tags`` ((registry, region, repository, tag) -> digest), else read from ``store``
    (``tag_observations``) before probing; with neither, nothing counts as moved. ``stop`` ends
    replication waits early (serve sets it when stopping).
    """
    jobs = plan(cfg, selection)
    if not jobs:
        return []
    if previous_tags is None and store is not None and any(j.kind == "tag" for j in jobs):
        previous_tags = load_previous_tags(store)
    ctx = RoundContext(
        cfg=cfg,
        round_id=uuid.uuid4().hex[:16],
        started_at=now or utcnow(),
        started_monotonic=time.monotonic(),
        tokens=TokenCache() if cfg.probe.reuse_tokens else None,
        extra={"previous_tags": previous_tags, "stop": stop},
    )
    workers = max(1, min(int(cfg.probe.concurrency), len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="regwatch-probe") as pool:
        futures = [pool.submit(_run_job, job, ctx) for job in jobs]
        return [result for f in futures for result in f.result()]
