"""``regwatch check-config``: validate the config and say what it will watch."""

from __future__ import annotations

from typing import Any

import click

from regwatch.commands._context import AppContext
from regwatch.commands._output import echo_json, json_option
from regwatch.config import Config, check_secrets, load_config
from regwatch.errors import ConfigError


def summarize(cfg: Config) -> dict[str, Any]:
    """Describe what the config watches, without any secret value."""
    matrix = [
        {"registry": r.name, "region": g.name, "url": g.url, "auth_path": a.name, "canary": c.label}
        for r in cfg.registries
        for g in r.regions
        for a in r.auth_paths
        for c in r.canaries
    ]
    return {
        "config": cfg.source,
        "registries": [
            {
                "name": r.name,
                "regions": [{"name": g.name, "url": g.url, "tls_verify": g.tls.verify} for g in r.regions],
                "auth_paths": [
                    {
                        "name": a.name,
                        "username": a.username,
                        "password": a.password.describe() if a.password else None,
                    }
                    for a in r.auth_paths
                ],
                "canaries": [{"canary": c.label, "platform": c.platform} for c in r.canaries],
            }
            for r in cfg.registries
        ],
        "probe_matrix": matrix,
        "slos": [
            {
                "name": s.name,
                "sli": s.sli,
                "source": s.source,
                "objective": s.objective,
                "window": s.window,
                "threshold_seconds": s.threshold_seconds,
            }
            for s in cfg.slos
        ],
        "logs": [
            {"path": s.path, "format": s.format, "registry": s.registry, "region": s.region} for s in cfg.logs
        ],
        "replication": len(cfg.replication),
        "protected_tags": sum(len(p.tags) for p in cfg.protected_tags),
    }


@click.command("check-config")
@json_option
@click.pass_obj
def command(app: AppContext, as_json: bool) -> None:
    """Validate the config, check every secret is readable, and show what will be watched.

    Exit 0 when the config is valid, 2 when it is not (one line naming the file and key).
    """
    cfg = load_config(app.config_path, required=True)
    problems = check_secrets(cfg)
    if problems:
        raise ConfigError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    info = summarize(cfg)
    if as_json:
        echo_json(info)
        return
    n = len(info["probe_matrix"])
    click.echo(f"Checking {cfg.source}")
    click.echo(
        f"  SUCCESS: {len(cfg.registries)} registries, {sum(len(r.regions) for r in cfg.registries)} regions, "
        f"{n} probes per round, {len(cfg.slos)} SLOs, {len(cfg.logs)} log sources"
    )
    for reg in info["registries"]:
        click.echo(f"registry {reg['name']}")
        for g in reg["regions"]:
            verify = "" if g["tls_verify"] else "  (TLS verification off)"
            click.echo(f"  region     {g['name']:<16} {g['url']}{verify}")
        for a in reg["auth_paths"]:
            who = f"user {a['username']}, password from {a['password']}" if a["username"] else "anonymous"
            click.echo(f"  auth path  {a['name']:<16} {who}")
        for c in reg["canaries"]:
            click.echo(f"  canary     {c['canary']} ({c['platform']})")
    for s in cfg.slos:
        extra = f" under {s.threshold_seconds:g}s" if s.threshold_seconds is not None else ""
        click.echo(
            f"slo {s.name}: {s.sli}{extra} from {s.source}, objective {s.objective:.4%} over {s.window}"
        )
    for src in cfg.logs:
        click.echo(f"logs {src.path} ({src.format}) -> {src.registry}/{src.region}")
