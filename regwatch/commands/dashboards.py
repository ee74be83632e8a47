"""``regwatch dashboards``: write the Grafana dashboards and their provisioning file."""

from __future__ import annotations

from pathlib import Path

import click

from regwatch.commands._context import AppContext
from regwatch.commands._output import echo_json, echo_table, json_option


@click.command("dashboards")
@click.option(
    "--out", "out_dir", default="dashboards", show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the dashboard JSON files and provisioning/regwatch.yaml into.",
)  # fmt: skip
@click.option(
    "--check", is_flag=True,
    help="Write nothing; exit 1 when a file in --out differs from what would be generated.",
)  # fmt: skip
@json_option
@click.pass_obj
def command(app: AppContext, out_dir: Path, check: bool, as_json: bool) -> None:
    """Generate Grafana dashboards (executive, on-call, debug) from the config.

    Each dashboard has a Prometheus data source variable and registry, region and auth_path
    variables; import the JSON in Grafana's UI, or provision it with provisioning/regwatch.yaml.
    Output is deterministic, so the files can be kept in version control.
    """
    from regwatch.dashboards import UIDS, generate_dashboards, write

    cfg = app.config
    files = generate_dashboards(cfg)
    kinds = {f"{uid}.json": kind for kind, uid in UIDS.items()}
    if check:
        stale = []
        for rel, text in files.items():
            path = out_dir / rel
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current != text:
                stale.append({"file": str(path), "state": "missing" if current is None else "stale"})
        if as_json:
            echo_json({"config": cfg.source, "stale": stale})
        elif stale:
            echo_table(stale, ["file", "state"])
        else:
            click.echo(f"{len(files)} files in {out_dir} are up to date")
        if stale:
            click.echo(
                f"regwatch: {len(stale)} dashboard files out of date: run `regwatch dashboards`", err=True
            )
            raise SystemExit(1)
        return
    written = write(cfg, out_dir)
    rows = [
        {
            "file": str(path),
            "dashboard": kinds.get(path.name, "provisioning"),
            "uid": UIDS.get(kinds.get(path.name, ""), "-"),
            "bytes": len(files[rel].encode()),
        }
        for rel, path in zip(files, written, strict=True)
    ]
    if as_json:
        echo_json({"config": cfg.source, "files": rows})
    else:
        echo_table(rows, ["file", "dashboard", "uid", "bytes"])
