"""``regwatch report``: the weekly SLO and cost report as self-contained HTML or Markdown."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import click

from regwatch.commands._context import AppContext
from regwatch.commands._params import TIME
from regwatch.errors import RegwatchError, UsageError
from regwatch.timeutil import utcnow


def _last_full_week(now: datetime) -> str:
    year, week, _ = (now - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    if not target.resolve().parent.is_dir():
        raise UsageError(f"--out {path}: directory {target.resolve().parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RegwatchError(f"--out {path}: cannot write: {exc.strerror}") from None


@click.command("report")
@click.option(
    "--week",
    default=None,
    metavar="YYYY-Www",
    help="ISO week to report, e.g. 2026-W47.  [default: last full week]",
)
@click.option("--from", "start", type=TIME, default=None, help="Start of a custom period (with --to).")
@click.option("--to", "end", type=TIME, default=None, help="End of a custom period (with --from).")
@click.option(
    "--format", "fmt", type=click.Choice(["html", "md"]), default=None,
    help="Output format.  [default: from --out's extension, else html]",
)  # fmt: skip
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write to this file instead of stdout.",
)
@click.pass_obj
def command(
    app: AppContext,
    week: str | None,
    start: datetime | None,
    end: datetime | None,
    fmt: str | None,
    out: str | None,
) -> None:
    """Write the SLO and cost report of a week (or any period up to 93 days).

    \b
    regwatch report --week 2026-W47 --out report.html
    regwatch report --from 2026-11-01 --to 2026-11-08 --format md

    SLOs with budget left and the change from the previous period, incidents (page-level burn),
    daily pull success and manifest latency per region, egress and cost per region, top
    repositories, auth failures and probe coverage. The store is opened read-only.
    """
    from regwatch.report import range_period, render_report, week_period

    if week is not None and (start is not None or end is not None):
        raise UsageError("give --week or --from/--to, not both")
    if (start is None) != (end is None):
        raise UsageError("--from and --to go together")
    if fmt is None:
        fmt = "md" if out is not None and out.lower().endswith((".md", ".markdown")) else "html"
    if start is not None and end is not None:
        period = range_period(start, end)
    else:
        period = week_period(week or _last_full_week(utcnow()))
    cfg = app.config
    with app.store(read_only=True) as store:
        text = render_report(store, cfg, period, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        _write_atomically(out, text)
        click.echo(f"wrote {out} ({period.label}, {fmt})", err=True)
