"""``regwatch query``: named postmortem queries and ad-hoc read-only SQL over the store."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import click

from regwatch.commands._context import AppContext
from regwatch.commands._output import fmt_cell, format_table, to_json
from regwatch.commands._params import TIME
from regwatch.queries import QueryResult, QueryUsageError, list_queries, run_query, run_sql


def _param(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.strip():
        raise QueryUsageError(f"--param {value!r}: expected KEY=VALUE")
    return key.strip(), val


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return fmt_cell(value)
    return str(value)


def render(result: QueryResult, fmt: str) -> str:
    """Format a query result as a table, CSV or JSON."""
    if fmt == "json":
        return to_json(result.dicts())
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_csv_cell(v) for v in row] for row in result.rows)
        return buf.getvalue().rstrip("\n")
    if not result.rows:
        return "(no rows)"
    return format_table(result.dicts(), result.columns)


def _listing() -> str:
    lines = []
    for q in list_queries():
        lines.append(f"{q.name:<20} {q.description}")
        for p in q.params:
            lines.append(f"{'':<22}--param {p.describe()}: {p.help}")
        if q.one_of:
            lines.append(f"{'':<22}(give one of: {', '.join(q.one_of)})")
    lines.append("")
    lines.append("Every query also takes --since and --until (default: all time).")
    return "\n".join(lines)


@click.command("query")
@click.argument("name", required=False)
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter of the query (repeat)."
)
@click.option("--since", type=TIME, default=None, help="Only rows at or after this time (e.g. -24h).")
@click.option("--until", type=TIME, default=None, help="Only rows before this time.  [default: now]")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
    help="Output format.",
)  # fmt: skip
@click.option("--list", "list_", is_flag=True, help="List the named queries and their parameters.")
@click.option("--sql", default=None, metavar="SELECT...", help="Run one ad-hoc SELECT on a read-only store.")
@click.pass_obj
def command(
    app: AppContext,
    name: str | None,
    params: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    list_: bool,
    sql: str | None,
) -> None:
    """Ask the store a postmortem question: a named query, or ad-hoc SQL.

    \b
    regwatch query --list
    regwatch query who-pulled --param digest=sha256:... --format csv
    regwatch query error-timeline --since 2026-11-20T10:00Z --until 2026-11-20T11:00Z
    regwatch query --sql "SELECT status, count(*) FROM requests GROUP BY ALL"

    The store is opened read-only; parameters are bound, never pasted into the SQL.
    """
    chosen = [flag for flag, on in (("NAME", name), ("--list", list_), ("--sql", sql is not None)) if on]
    if len(chosen) != 1:
        raise QueryUsageError(
            "give one of NAME, --list or --sql"
            if not chosen
            else f"{' and '.join(chosen)} cannot go together"
        )
    if list_:
        click.echo(_listing())
        return
    if sql is not None and (params or since or until):
        raise QueryUsageError("--param, --since and --until are for named queries, not --sql")
    given: dict[str, str] = {}
    for text in params:
        key, val = _param(text)
        if key in given:
            raise QueryUsageError(f"--param {key} given twice")
        given[key] = val
    if name is not None:
        from regwatch.queries import bind_params, load_query

        bind_params(load_query(name), given, since=since, until=until)  # usage errors before opening
    with app.store(read_only=True) as store:
        if sql is not None:
            result = run_sql(store, sql)
        else:
            assert name is not None
            result = run_query(store, name, given, since=since, until=until)
    click.echo(render(result, fmt))
