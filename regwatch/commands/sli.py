"""``regwatch sli``: pull success, first attempt, latency, auth failures, egress and cost over a range."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import click

from regwatch.commands._context import AppContext
from regwatch.commands._output import echo_json, fmt_cell, format_table, json_option
from regwatch.commands._params import TIME
from regwatch.errors import UsageError
from regwatch.timeutil import utcnow

#: Default range when --from is not given: this long before --to.
DEFAULT_RANGE = timedelta(hours=24)


def pct(value: float | None) -> str:
    """A ratio as a percentage with three decimals (99.950%), '-' for no data."""
    return "-" if value is None else f"{value:.3%}"


def human_bytes(value: float | None) -> str:
    """Bytes in binary units (1.50 GiB), '-' for no data."""
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def seconds(value: float | None) -> str:
    """Seconds with millisecond precision, '-' for no data."""
    return "-" if value is None else f"{value:.3f}s"


def sli_table(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> str:
    """Format SLI rows (as ``compute_slis`` returns them) as a table for people."""
    people = [
        {
            **{k: ("(none)" if r[k] is None else r[k]) for k in keys},
            "good": r["pulls_good"],
            "bad": r["pulls_bad"],
            "excluded": r["pulls_excluded"],
            "success": pct(r["pull_success_ratio"]),
            "first_try": pct(r["first_attempt_success_ratio"]),
            "p50": seconds(r["manifest_latency_p50_seconds"]),
            "p95": seconds(r["manifest_latency_p95_seconds"]),
            "p99": seconds(r["manifest_latency_p99_seconds"]),
            "auth_fail": f"{r['auth_failures']} ({pct(r['auth_failure_ratio'])})",
            "egress": human_bytes(r["egress_bytes"]),
            "per_pull": human_bytes(r["egress_bytes_per_pull"]),
            "cost_usd": f"{r['egress_cost_usd']:.4f}",
            "cache_hit": pct(r["cache_hit_ratio"]),
            "push": pct(r["push_success_ratio"]),
        }
        for r in rows
    ]
    return format_table(people)


@click.command("sli")
@click.option(
    "--from", "start", type=TIME, default=None,
    help="Start of the range, exclusive (now, -1h, 2026-11-20, ISO time, unix seconds).  "
    "[default: --to minus 24h]",
)  # fmt: skip
@click.option("--to", "end", type=TIME, default=None, help="End of the range, inclusive.  [default: now]")
@click.option(
    "--by", type=click.Choice(["registry", "region", "repository", "auth_path"]), default=None,
    help="One row per group (region, repository and auth_path within their registry; auth_path needs "
    "--source probes).  [default: one row for everything]",
)  # fmt: skip
@click.option(
    "--source", type=click.Choice(["logs", "probes"]), default="logs", show_default=True,
    help="Ingested registry logs (every real request) or the probes' canary pulls.",
)  # fmt: skip
@json_option
@click.pass_obj
def command(
    app: AppContext, start: datetime | None, end: datetime | None, by: str | None, source: str, as_json: bool
) -> None:
    """Compute SLIs over a range: pull success, first-attempt success, manifest latency p50/p95/p99,
    auth failures, egress bytes, egress per pull and cost, cache hit ratio, push success.

    Definitions are in docs/slis.md. Events count when FROM < time <= TO. Ratios are null ('-')
    where there is nothing to divide, never 100% of nothing.
    """
    from regwatch.slo import compute_slis
    from regwatch.slo.sli import GROUP_KEYS, check_selection

    check_selection(by, source)
    end = end or utcnow()
    start = start or end - DEFAULT_RANGE
    if start >= end:
        raise UsageError(f"--from {start.isoformat()} must be before --to {end.isoformat()}")
    cfg = app.config
    with app.store(read_only=True) as store:
        rows = compute_slis(store, cfg, start=start, end=end, by=by, source=source)  # type: ignore[arg-type]
    if as_json:
        echo_json(rows)
        return
    click.echo(f"SLIs from {source}, {fmt_cell(start)} < t <= {fmt_cell(end)}")
    click.echo(sli_table(rows, GROUP_KEYS[by]))
