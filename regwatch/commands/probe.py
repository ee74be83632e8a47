"""``regwatch probe``: canary pulls through every region and auth path, replication lag, protected tags."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from regwatch.catalog import PROBE_KINDS
from regwatch.commands._context import AppContext
from regwatch.commands._output import echo_json, format_table, json_option, to_json
from regwatch.config import Config
from regwatch.errors import ConfigError, UsageError
from regwatch.probe import ProbeResult, Selection, load_previous_tags, plan, run_round, store_results
from regwatch.probe.metrics import ProbeMetrics

TABLE_COLUMNS = (
    "registry", "region", "auth_path", "canary", "result", "reason", "status", "bytes", "duration_s", "error",
)  # fmt: skip
REPLICATION_COLUMNS = (
    "registry", "from_region", "region", "repository", "result", "reason", "lag_s", "digest", "duration_s", "error",
)  # fmt: skip
TAG_COLUMNS = (
    "registry", "region", "repository", "tag", "present", "changed", "digest", "result", "reason", "status", "error",
)  # fmt: skip


def _short(text: str | None, n: int = 100) -> str | None:
    return (text[:n] + "…") if text and len(text) > n else text


def _digest(d: str | None) -> str | None:
    """``sha256:`` and the first 12 hex digits, as people read digests in a table."""
    return d[: d.index(":") + 13] if d and ":" in d else d


def _row(r: ProbeResult) -> dict[str, Any]:
    return {
        "registry": r.registry,
        "region": r.region,
        "auth_path": r.auth_path,
        "canary": r.canary,
        "result": r.result,
        "reason": r.reason,
        "status": r.status,
        "bytes": r.bytes,
        "duration_s": round(r.duration_seconds, 3),
        "error": _short(r.error),
    }


def _replication_row(r: ProbeResult) -> dict[str, Any]:
    return {
        "registry": r.registry,
        "from_region": r.from_region,
        "region": r.region,
        "repository": r.repository,
        "result": r.result,
        "reason": r.reason,
        "lag_s": round(r.lag_seconds, 3) if r.lag_seconds is not None else None,
        "digest": _digest(r.manifest_digest),
        "duration_s": round(r.duration_seconds, 3),
        "error": _short(r.error),
    }


def _tag_row(r: ProbeResult) -> dict[str, Any]:
    return {
        "registry": r.registry,
        "region": r.region,
        "repository": r.repository,
        "tag": r.tag,
        "present": {True: "yes", False: "no", None: None}[r.present],
        "changed": "yes" if r.changed else "no",
        "digest": _digest(r.manifest_digest),
        "result": r.result,
        "reason": r.reason,
        "status": r.status,
        "error": _short(r.error),
    }


def format_results(results: list[ProbeResult]) -> str:
    """One table per probe kind present, pulls first, separated by a blank line."""
    tables = []
    for kind, columns, row in (
        ("pull", TABLE_COLUMNS, _row),
        ("replication", REPLICATION_COLUMNS, _replication_row),
        ("tag", TAG_COLUMNS, _tag_row),
    ):
        rows = [row(r) for r in results if r.kind == kind]
        if rows:
            tables.append(format_table(rows, columns))
    return "\n\n".join(tables) if tables else format_table([])


def write_metrics(path: str, metrics: ProbeMetrics) -> None:
    """Write the metrics in the text exposition format, atomically (temp file + rename)."""
    from prometheus_client import write_to_textfile

    try:
        write_to_textfile(path, metrics.registry)
    except OSError as exc:
        raise UsageError(f"--metrics-out {path}: cannot write: {exc.strerror}") from None


class _Round:
    """One round: probe, store, count, report. Shared by --once and the scheduled loop."""

    def __init__(
        self, app: AppContext, cfg: Config, selection: Selection, as_json: bool, metrics_out: str | None
    ) -> None:
        self.app, self.cfg, self.selection = app, cfg, selection
        self.as_json, self.metrics_out = as_json, metrics_out
        self.metrics: ProbeMetrics | None = None
        if metrics_out:
            from prometheus_client import CollectorRegistry

            self.metrics = ProbeMetrics(CollectorRegistry())
            self.metrics.init_config(cfg)
        self.failed_rounds = 0
        self.rounds = 0

    def run(self, *, stream: bool = False) -> list[ProbeResult]:
        previous = None
        if self.cfg.protected_tags and self.selection.wants_kind("tag"):
            # "changed" compares with the last digest stored, so it survives restarts
            with self.app.store() as store:
                previous = load_previous_tags(store)
        results = run_round(self.cfg, selection=self.selection, previous_tags=previous)
        with self.app.store() as store:
            store_results(store, results)
        if self.metrics is not None and self.metrics_out:
            for r in results:
                self.metrics.observe(r)
            write_metrics(self.metrics_out, self.metrics)
        if self.as_json:
            data = [r.to_dict() for r in results]
            if stream:  # one JSON list per line per round, for a consumer reading a stream
                click.echo(json.dumps(json.loads(to_json(data)), separators=(",", ":")))
            else:
                echo_json(data)
        else:
            click.echo(format_results(results))
        failed = sum(not r.ok for r in results)
        self.rounds += 1
        self.failed_rounds += bool(failed)
        click.echo(f"probe: {len(results)} probes, {failed} failed", err=True)
        return results


@click.command("probe")
@click.option("--once", is_flag=True, help="Run one round and exit (0: all succeeded, 1: any failed).")
@json_option
@click.option("--registry", "registry", metavar="NAME", help="Only this registry.")
@click.option("--region", "region", metavar="NAME", help="Only this region.")
@click.option("--auth-path", "auth_path", metavar="NAME", help="Only this auth path.")
@click.option(
    "--canary",
    "canary",
    metavar="REF",
    help="Only this canary or repository (repo:tag, repo@digest or repo; also a replication repository "
    "or a protected repo:tag).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(PROBE_KINDS),
    help="Only probes of this kind (repeatable). Default: every kind in the config.",
)
@click.option(
    "--metrics-out", type=click.Path(dir_okay=False), metavar="FILE",
    help="Write the probe metrics here after every round (text format, for node_exporter's textfile collector).",
)  # fmt: skip
@click.option(
    "--max-rounds",
    type=click.IntRange(min=1),
    default=None,
    hidden=True,
    help="Stop after N rounds (tests, demo).",
)
@click.pass_obj
def command(
    app: AppContext,
    once: bool,
    as_json: bool,
    registry: str | None,
    region: str | None,
    auth_path: str | None,
    canary: str | None,
    kinds: tuple[str, ...],
    metrics_out: str | None,
    max_rounds: int | None,
) -> None:
    """Run every probe in the config (canary pulls, replication, protected tags) and record the results.

    A pull probe is one pull as a cold node does it: fresh connections, auth challenge and token,
    manifest (an index resolved to the canary's platform), config and layers, each verified, no
    retries. A replication probe pushes a fresh canary to one region and times its arrival in the
    others. A tag probe records the digest each protected tag resolves to, in each region.
    Results go to the store (probe_results, tag_observations). With --once: one round, exit 0 when
    every probe succeeded and 1 when any failed (a protected tag missing or moved is a failure).
    Without: a round every probe.interval_seconds (plus jitter) until interrupted.
    """
    cfg = app.config
    selection = Selection(
        registry=registry, region=region, auth_path=auth_path, canary=canary, kinds=tuple(kinds) or None
    )
    if metrics_out and not Path(metrics_out).resolve().parent.is_dir():
        raise UsageError(f"--metrics-out {metrics_out}: directory does not exist")
    if not plan(cfg, selection):
        raise ConfigError(
            f"{cfg.source}: nothing to probe (no canary, replication or protected_tags entry matches)"
        )
    rounds = _Round(app, cfg, selection, as_json, metrics_out)
    if once or max_rounds == 1:
        results = rounds.run()
        if any(not r.ok for r in results):
            click.get_current_context().exit(1)
        return
    _loop(rounds, cfg, max_rounds)
    if rounds.failed_rounds:
        click.get_current_context().exit(1)


def _loop(rounds: _Round, cfg: Config, max_rounds: int | None) -> None:
    """Run rounds on probe.interval_seconds with jitter until interrupted (or max_rounds)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    done = threading.Event()
    error: list[BaseException] = []

    def job() -> None:
        try:
            rounds.run(stream=True)
        except Exception as exc:  # noqa: BLE001 - e.g. the store is locked: stop with its message
            error.append(exc)
            done.set()
            return
        if max_rounds is not None and rounds.rounds >= max_rounds:
            done.set()

    scheduler = BackgroundScheduler(timezone="UTC")
    jitter = max(0.0, cfg.probe.jitter_seconds)
    scheduler.add_job(
        job,
        "interval",
        seconds=cfg.probe.interval_seconds,
        jitter=int(jitter) if jitter >= 1 else None,
        id="probe",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        # the first round runs at once, give or take the jitter so that replicas do not align
        next_run_time=datetime.now(UTC) + timedelta(seconds=random.uniform(0, jitter)),
    )
    click.echo(
        f"probe: a round every {cfg.probe.interval_seconds:g}s (jitter up to {jitter:g}s); Ctrl-C stops",
        err=True,
    )
    scheduler.start()
    try:
        while not done.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)
    if error:
        raise error[0]
