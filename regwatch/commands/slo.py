"""``regwatch slo``: every configured SLO with its error budget, burn rates and alert state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import click

from regwatch.catalog import BURN_WINDOWS
from regwatch.commands._context import AppContext
from regwatch.commands._output import echo_json, fmt_cell, format_table, json_option
from regwatch.commands._params import TIME
from regwatch.commands.sli import pct
from regwatch.timeutil import utcnow

if TYPE_CHECKING:
    from regwatch.slo import SloStatus

#: States that make ``regwatch slo`` exit 1, by --fail-on value.
FAIL_STATES: dict[str, tuple[str, ...]] = {"page": ("page",), "ticket": ("page", "ticket"), "never": ()}


def slo_table(statuses: Sequence[SloStatus]) -> str:
    """Format ``evaluate_slos`` results as a table for people (the demo prints this too)."""
    rows = []
    for s in statuses:
        d = s.to_dict()
        rows.append(
            {
                "slo": d["slo"],
                "sli": d["sli"],
                "source": d["source"],
                "objective": pct(d["objective"]),
                "window": d["window"],
                "sli_value": pct(d["sli_value"]),
                "good": d["good"],
                "bad": d["bad"],
                "budget_left": pct(d["error_budget_remaining_ratio"]),
                "bad/allowed": f"{d['error_budget_consumed']}/{d['error_budget_total']:.4g}",
                **{
                    f"burn_{w}": "-" if d["burn_rates"][w] is None else f"{d['burn_rates'][w]:.2f}"
                    for w in BURN_WINDOWS
                },
                "state": d["state"],
            }
        )
    return format_table(rows)


@click.command("slo")
@click.option(
    "--at", type=TIME, default=None, help="Evaluate at this time (windows end here).  [default: now]"
)
@click.option(
    "--fail-on", type=click.Choice(["page", "ticket", "never"]), default="page", show_default=True,
    help="Exit 1 when an SLO is in this state (ticket: page or ticket). no_data never fails.",
)  # fmt: skip
@json_option
@click.pass_obj
def command(app: AppContext, at: datetime | None, fail_on: str, as_json: bool) -> None:
    """Evaluate every SLO in the config: SLI over its window, error budget (ratio and count),
    burn rates over 5m..3d, and the state the generated alerts would give (page, ticket, ok, no_data).

    Windows end at --at and hold events with at - length < time <= at. Exit 0, or 1 when an SLO is
    in a --fail-on state (CI gates); never 1 for no_data.
    """
    from regwatch.slo import evaluate_slos

    at = at or utcnow()
    cfg = app.config
    if not cfg.slos:
        click.echo(f"regwatch: no SLOs in {cfg.source}", err=True)
        statuses: list[SloStatus] = []
    else:
        with app.store(read_only=True) as store:
            statuses = evaluate_slos(store, cfg, at=at)
    if as_json:
        echo_json([s.to_dict() for s in statuses])
    elif statuses:
        click.echo(f"SLOs at {fmt_cell(at)}")
        click.echo(slo_table(statuses))
    failing = [s.slo for s in statuses if s.state in FAIL_STATES[fail_on]]
    if failing:
        states = " or ".join(FAIL_STATES[fail_on])
        click.echo(f"regwatch: {len(failing)} SLO(s) in state {states}: {', '.join(failing)}", err=True)
        raise click.exceptions.Exit(1)
