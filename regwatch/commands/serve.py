"""``regwatch serve``: the exporter — scheduled probes, live ingest, SLO gauges, notifications, /metrics."""

from __future__ import annotations

import logging
import os
import sys

import click

from regwatch.commands._context import AppContext
from regwatch.commands._params import DURATION


def _check_listen(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from regwatch.serve.app import parse_listen

    try:
        parse_listen(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (e.g. 127.0.0.1:9817, or 0.0.0.0:9817 for all interfaces)") from None
    return value


def _setup_logging(debug: bool) -> None:
    logger = logging.getLogger("regwatch")
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    if any(getattr(h, "_regwatch_serve", False) for h in logger.handlers):
        return  # invoked again in the same process (tests)
    handler = logging.StreamHandler(sys.stderr)
    handler._regwatch_serve = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    aps = logging.getLogger("apscheduler")
    aps.addHandler(handler)
    aps.setLevel(logging.WARNING)  # its per-run INFO lines would drown ours


@click.command("serve")
@click.option(
    "--listen", metavar="HOST:PORT", default=None, callback=_check_listen,
    help="Address to listen on.  [default: the config's serve.listen, else 127.0.0.1:9817; "
    "all interfaces only when asked, e.g. 0.0.0.0:9817]",
)  # fmt: skip
@click.option(
    "--web-config-file", type=click.Path(dir_okay=False), default=None,
    help="Basic auth and TLS in the Prometheus exporter-toolkit web config format.  "
    "[default: the config's serve.web_config_file]",
)  # fmt: skip
@click.option(
    "--stop-after", type=DURATION, default=None, metavar="DURATION",
    help="Stop by itself after this long (demos and smoke tests); default: run until SIGTERM or Ctrl-C.",
)  # fmt: skip
@click.pass_obj
def command(
    app: AppContext, listen: str | None, web_config_file: str | None, stop_after: float | None
) -> None:
    """Run the exporter: probe on schedule, ingest logs, recompute SLOs, serve /metrics.

    Endpoints: GET /metrics, GET /healthz, GET /readyz (ready once the store is open and the first
    probe round finished), POST /v1/notifications (point the registry's notifications.endpoints
    here). The store is opened only per write batch, so query, report and slo run beside it.
    SIGTERM finishes in-flight store writes and exits 0.
    """
    from prometheus_client import disable_created_metrics

    from regwatch.serve import run

    # *_created samples double the counter series and Prometheus 2 ignores them by default.
    disable_created_metrics()

    cfg = app.config
    if app.config_explicit is False and cfg.source == "<defaults>":
        click.echo("regwatch serve: no config file; serving the store's metrics without probes", err=True)
    _setup_logging(app.debug)

    def ready(service: object) -> None:
        click.echo(f"regwatch serve: metrics at {getattr(service, 'url', '?')}/metrics", err=True)

    abandoned = run(
        cfg, app.db_path, listen=listen, web_config_file=web_config_file, db_wait=app.db_wait,
        duration=stop_after, on_ready=ready,
    )  # fmt: skip
    click.echo("regwatch serve: stopped", err=True)
    if abandoned:
        # An abandoned probe round's pulls still block on the network in pool threads that
        # interpreter exit would join (up to probe.timeout_seconds). Store writes are done and
        # the store is closed, so leave now: SIGTERM must end the process within 10 s.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
