"""``regwatch demo``: run the main job end to end on the embedded default, on this machine only."""

from __future__ import annotations

import threading
from pathlib import Path

import click
import requests

from regwatch import catalog
from regwatch.commands._context import AppContext

#: Metric lines the demo shows from the running exporter.
SHOWN_METRICS = tuple(f"{m.name}{{" for m in (catalog.PROBE_PULLS, catalog.SLO_SLI, catalog.LOG_REQUESTS))


def _run(config: Path, *args: str) -> int:
    """Run one real regwatch subcommand in-process, echoing it as a shell transcript line."""
    from regwatch.cli import cli

    click.secho(f"\n$ regwatch {' '.join(args)}", bold=True)
    try:
        rv = cli.main(["--config", str(config), *args], prog_name="regwatch", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


def _show_metrics(url: str, ready: threading.Event, stop: threading.Event) -> None:
    """Once the exporter is ready, print a few of its series (a demo nicety, never fatal)."""
    deadline = 60.0
    while not stop.wait(0.2) and deadline > 0:
        deadline -= 0.2
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code != 200:
                continue
            body = requests.get(f"{url}/metrics", timeout=5).text
        except requests.RequestException:
            continue
        lines = [ln for ln in body.splitlines() if ln.startswith(SHOWN_METRICS)]
        click.echo("\n".join(lines[:12]) or "(no series yet)")
        ready.set()
        return


@click.command("demo")
@click.option(
    "--workdir", default="regwatch-demo", show_default=True, type=click.Path(file_okay=False),
    help="Directory for the demo's registry, store, config, rules, dashboards and report.",
)  # fmt: skip
@click.option(
    "--serve-seconds", default=6.0, show_default=True, type=click.FloatRange(min=0),
    help="Run `regwatch serve` this long at the end (0 to skip).",
)  # fmt: skip
@click.option("--keep-serving", is_flag=True, help="Keep `regwatch serve` running until Ctrl-C.")
@click.pass_obj
def command(app: AppContext, workdir: str, serve_seconds: float, keep_serving: bool) -> None:
    """Run every part of regwatch once on the embedded default, on loopback only.

    Starts a throwaway docker-registry (when installed), pushes a canary with regwatch's own OCI
    client, probes it first-attempt, ingests its log and the shipped sample logs, computes SLIs and
    SLOs, runs a postmortem query, generates rules, dashboards and a weekly report, then serves
    /metrics for a few seconds. Everything lives under --workdir.
    """
    from regwatch import demo
    from regwatch.config import parse_config
    from regwatch.serve import serve_for

    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / "regwatch.duckdb").unlink(missing_ok=True)  # each demo starts from a fresh store
    registry = None
    failures: list[str] = []
    click.secho("== a throwaway registry on loopback", bold=True)
    if demo.registry_available():
        registry = demo.start_registry(work)
        digest = demo.push_canary(registry.url)
        click.echo(
            f"docker-registry at {registry.url}; pushed {demo.CANARY_REPOSITORY}:{demo.CANARY_TAG} ({digest})"
        )
    else:
        click.echo("docker-registry is not installed: skipping the probes (apt-get install docker-registry)")
    try:
        config = work / "regwatch.yaml"
        config.write_text(demo.demo_config(work, registry), encoding="utf-8")
        cfg = parse_config(config.read_text(encoding="utf-8"), str(config))
        steps: list[list[str]] = [["check-config"]]
        if registry is not None:
            steps += [["probe", "--once"], ["probe", "--once"], ["probe", "--once"]]
        steps += [
            ["ingest"],
            ["slo"],
            ["sli", "--by", "region", "--source", "logs", "--from=-30d"],
            ["query", "who-pulled", "--param", f"repository={demo.CANARY_REPOSITORY}", "--since=-30d"],
            ["rules", "--out", str(work / "rules")],
            ["dashboards", "--out", str(work / "dashboards")],
            ["report", "--from=-7d", "--to=now", "--out", str(work / "report.html")],
        ]
        for args in steps:
            if _run(config, *args) != 0:
                failures.append(" ".join(args))
        if keep_serving or serve_seconds > 0:
            click.secho("\n$ regwatch serve", bold=True)
            stop, shown = threading.Event(), threading.Event()

            def on_ready(service: object) -> None:
                url = service.url  # type: ignore[attr-defined]
                click.echo(f"metrics at {url}/metrics (readiness at {url}/readyz)")
                threading.Thread(target=_show_metrics, args=(url, shown, stop), daemon=True).start()

            serve_for(cfg, cfg.store.path, None if keep_serving else serve_seconds, on_ready=on_ready)
            stop.set()
    finally:
        if registry is not None:
            registry.stop()
    click.secho(
        f"\nEverything is in {work}: regwatch.yaml, regwatch.duckdb, rules/, dashboards/, report.html",
        bold=True,
    )
    if failures:
        click.echo(f"demo: {len(failures)} step(s) failed: {'; '.join(failures)}", err=True)
        raise click.exceptions.Exit(1)
