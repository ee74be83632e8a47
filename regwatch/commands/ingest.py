"""``regwatch ingest``: load registry access and audit logs into the store."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import Any, TextIO

import click

from regwatch.commands._context import AppContext
from regwatch.commands._output import echo_json, echo_table, json_option
from regwatch.errors import UsageError
from regwatch.ingest import FORMATS, STDIN, FileReport, IngestSpec, follow, ingest


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal.

    Shows the bytes read of each file, then DuckDB's progress parsing them; the line is cleared
    when the file is done, so the table that follows stays clean.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._last = 0.0

    def frame(self, source: str, phase: str, done: int, total: int) -> str:
        """The text of one frame (without the leading carriage return)."""
        name = os.path.basename(source) or source
        name = name if len(name) <= 32 else "…" + name[-31:]
        if phase == "read" and total <= 0:
            return f"{name:<32} read  {done / 1e6:10.1f} MB"
        frac = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        filled = int(self.WIDTH * frac)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        tail = f"{done / 1e6:8.1f}/{total / 1e6:.1f} MB" if phase == "read" else f"{frac * 100:5.1f}%"
        return f"{name:<32} {phase:<5} [{bar}] {tail}"

    def __call__(self, source: str, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if phase == "done":
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            return
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and done and now - self._last < 0.1:
            return  # at most ten frames a second, but always the first and the last of a phase
        self._last = now
        self.stream.write("\r" + self.frame(source, phase, done, total) + "\x1b[K")
        self.stream.flush()


def _rows(reports: list[FileReport]) -> list[dict[str, Any]]:
    return [
        {"source": r.source, "format": r.format, "accepted": r.accepted, "ignored": r.ignored,
         "rejected": r.rejected, "note": r.error or ("rotated: read from the start" if r.reset else "")}
        for r in reports
    ]  # fmt: skip


@click.command("ingest")
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS]), default="auto", show_default=True,
              help="Log format (auto: detected per file from its first lines).")  # fmt: skip
@click.option("--registry", default="default", show_default=True, help="Registry label for the rows.")
@click.option("--region", default="default", show_default=True, help="Region label for the rows.")
@click.option("--log-format", default=None, help="nginx log_format string or name (default: combined).")
@click.option(
    "--follow",
    "follow_",
    is_flag=True,
    help="Keep tailing the files like tail -F (rotation included); commit at least every 2 s.",
)
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05, 2.0),
    help="Seconds between polls with --follow.",
)
@json_option
@click.pass_obj
def command(
    app: AppContext, paths: tuple[str, ...], fmt: str, registry: str, region: str, log_format: str | None,
    follow_: bool, interval: float, as_json: bool,
) -> None:  # fmt: skip
    """Load registry logs (PATH, GLOB or - for stdin) into the store, incrementally and idempotently.

    Without PATHS, reads the config's logs: entries. Prints accepted / ignored (lines that are not
    requests) / rejected lines per file; rejected lines are kept in the ingest_rejects table with a
    reason. A progress bar is drawn on stderr when it is a terminal. Exit 0 unless a file cannot be
    read (1).
    """
    if paths:
        specs = [IngestSpec(path=p, format=fmt, registry=registry, region=region, log_format=log_format)
                 for p in paths]  # fmt: skip
    else:
        specs = [IngestSpec(path=s.path, format=s.format if fmt == "auto" else fmt, registry=s.registry,
                            region=s.region, log_format=s.log_format or log_format)
                 for s in app.config.logs]  # fmt: skip
        if not specs:
            raise UsageError("ingest: no PATH given and the config has no logs: entries")
    if follow_:
        if STDIN in paths:
            raise UsageError("ingest: --follow cannot read stdin")
        stop = {"now": False}

        def _stop(*_: Any) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, _stop)

        def _print(reports: list[FileReport]) -> None:
            for r in reports:
                click.echo(f"{r.source}: accepted {r.accepted} ignored {r.ignored} rejected {r.rejected}"
                           + (f" ({r.error})" if r.error else ""), err=True)  # fmt: skip

        with contextlib.suppress(KeyboardInterrupt):
            follow(app.store, specs, interval=interval, should_stop=lambda: stop["now"], on_reports=_print)
        return
    bar = ProgressBar()
    with app.store() as store:
        reports = ingest(store, specs, progress=bar if bar.enabled else None)
    if as_json:
        echo_json({"files": [r.to_dict() for r in reports]})
    else:
        echo_table(_rows(reports), ["source", "format", "accepted", "ignored", "rejected", "note"])
    errors = [r.error for r in reports if r.error]
    for e in errors:
        click.echo(f"regwatch: error: {e}", err=True)
    if errors:
        click.get_current_context().exit(1)
