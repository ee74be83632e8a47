"""The ``regwatch`` command line: the group, its global options and error handling.

Each subcommand lives in ``regwatch/commands/<name>.py`` as a module-level ``command``; the group
discovers them lazily, so ``regwatch --help`` stays fast and subcommands never collide in one file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from typing import Any

import click

import regwatch.commands
from regwatch import __version__
from regwatch.commands._context import AppContext
from regwatch.config import DEFAULT_CONFIG_PATH
from regwatch.errors import RegwatchError
from regwatch.store import DEFAULT_WAIT_SECONDS


def _command_modules() -> dict[str, str]:
    return {
        info.name.replace("_", "-"): f"regwatch.commands.{info.name}"
        for info in pkgutil.iter_modules(regwatch.commands.__path__)
        if not info.name.startswith("_")
    }


class RegwatchGroup(click.Group):
    """A group that loads subcommands on demand and turns RegwatchError into one line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_command_modules())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _command_modules().get(cmd_name)
        if module is None:
            return None
        cmd = importlib.import_module(module).command
        assert isinstance(cmd, click.Command)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RegwatchError as exc:
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                traceback.print_exc()
            click.echo(f"regwatch: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(
    cls=RegwatchGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, "--version", prog_name="regwatch")
@click.option(
    "--config", "config_path", envvar="REGWATCH_CONFIG", default=DEFAULT_CONFIG_PATH, show_default=True,
    type=click.Path(dir_okay=False), help="YAML configuration file.",
)  # fmt: skip
@click.option(
    "--db", "db_path", envvar="REGWATCH_DB", default=None, type=click.Path(dir_okay=False),
    help="DuckDB store.  [default: the config's store.path, else ./regwatch.duckdb]",
)  # fmt: skip
@click.option(
    "--db-wait", default=DEFAULT_WAIT_SECONDS, show_default=True, type=click.FloatRange(min=0),
    help="Seconds to wait when another regwatch process holds the store's lock.",
)  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: str, db_path: str | None, db_wait: float, debug: bool) -> None:
    """Watch container registries the way their users experience them.

    Probes pull canary images first-attempt through every region and auth path; ingest loads
    registry logs into DuckDB; sli/slo compute success, latency, burn rates and egress cost;
    serve exports it all to Prometheus; rules, dashboards and report generate what on-call and
    the weekly review read.
    """
    explicit = ctx.get_parameter_source("config_path") not in (
        click.core.ParameterSource.DEFAULT,
        None,
    )
    ctx.obj = AppContext(
        config_path=config_path, config_explicit=explicit, db_override=db_path, db_wait=db_wait, debug=debug
    )


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="regwatch")
    except KeyboardInterrupt:
        click.echo("regwatch: interrupted", err=True)
        sys.exit(130)
