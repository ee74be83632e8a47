"""``regwatch rules``: write Prometheus rule files and their promtool unit tests from the config."""

from __future__ import annotations

from pathlib import Path

import click

from regwatch.commands._context import AppContext
from regwatch.commands._output import echo_json, json_option
from regwatch.openslo import load_openslo
from regwatch.rules import write_rules


@click.command("rules")
@click.option(
    "--out", "out_dir", default="rules", show_default=True, type=click.Path(file_okay=False),
    help="Directory for the rule files.",
)  # fmt: skip
@click.option(
    "--tests-out", "tests_out", default=None, type=click.Path(file_okay=False),
    help="Directory for the promtool unit-test files.  [default: OUT/tests]",
)  # fmt: skip
@click.option(
    "--openslo", "openslo", multiple=True, type=click.Path(exists=True, dir_okay=False),
    help="An OpenSLO v1 file whose SLO objects get rules too (repeat).",
)  # fmt: skip
@click.option(
    "--check", is_flag=True,
    help="Write nothing; exit 1 and list the files that are missing, different or stale.",
)  # fmt: skip
@json_option
@click.pass_obj
def command(
    app: AppContext, out_dir: str, tests_out: str | None, openslo: tuple[str, ...], check: bool, as_json: bool
) -> None:
    """Generate recording rules, burn-rate and symptom alerts, and promtool tests for them.

    One rule file per SLO (OUT/regwatch-slo-NAME.rules.yml), the symptom alerts
    (OUT/regwatch-symptoms.rules.yml), and promtool unit tests (OUT/tests/*.test.yml, run them with
    `promtool test rules`). Generated files the config no longer produces are removed. Output is
    deterministic, so `--check` tells whether checked-in rules are stale.
    """
    cfg = app.config
    specs = load_openslo(openslo, cfg.alerting) if openslo else []
    paths = write_rules(cfg, out_dir, tests_out, openslo=specs, check=check)
    if as_json:
        echo_json({"check": check, "files": [str(p) for p in paths]})
    elif check:
        for p in paths:
            click.echo(f"stale: {p}")
        if not paths:
            click.echo(f"up to date: {out_dir}")
    else:
        for p in paths:
            click.echo(f"{'wrote' if Path(p).exists() else 'removed'} {p}")
    if check and paths:
        raise click.exceptions.Exit(1)
