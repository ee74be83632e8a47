"""``regwatch demo``: run the main job end to end on the embedded default, on this machine only."""

from __future__ import annotations

from pathlib import Path

import click

from regwatch.commands._context import AppContext


@click.command("demo")
@click.option(
    "--workdir", default="regwatch-demo", show_default=True, type=click.Path(file_okay=False),
    help="Directory for the demo's store, config, generated rules, dashboards and report.",
)  # fmt: skip
@click.option(
    "--serve-seconds", default=5.0, show_default=True, type=click.FloatRange(min=0),
    help="Run `regwatch serve` this long at the end (0 to skip).",
)  # fmt: skip
@click.option("--keep-serving", is_flag=True, help="Keep `regwatch serve` running until Ctrl-C.")
@click.pass_obj
def command(app: AppContext, workdir: str, serve_seconds: float, keep_serving: bool) -> None:
    """Run regwatch end to end on the embedded default: a throwaway local registry (when
    docker-registry and skopeo are installed) probed first-attempt, the sample logs ingested, SLOs
    computed, rules, dashboards and a report generated, and the exporter served briefly.

    Everything binds to 127.0.0.1 and lives under --workdir.
    """
    from regwatch.demo import run_demo

    ok = run_demo(Path(workdir), serve_seconds=None if keep_serving else serve_seconds, echo=click.echo)
    if not ok:
        raise click.exceptions.Exit(1)
