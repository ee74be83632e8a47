"""The demo: every part of regwatch run once on the embedded default, on loopback only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from regwatch.config import parse_config
from regwatch.store import open_store

Echo = Callable[[str], None]

DEFAULT_CONFIG = """\
# regwatch demo configuration (embedded default)
store: {{path: {db}}}
slos:
  - {{name: log-pull-success, sli: pull_success, source: logs, objective: 0.99, window: 30d}}
"""


def run_demo(workdir: Path, *, serve_seconds: float | None, echo: Echo) -> bool:
    """Run the demo in ``workdir``; return False when a step failed."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "regwatch.duckdb"
    text = DEFAULT_CONFIG.format(db=db)
    (workdir / "regwatch.yaml").write_text(text, encoding="utf-8")
    cfg = parse_config(text, str(workdir / "regwatch.yaml"))
    with open_store(str(db)) as store:
        echo(f"store    {db} (schema v{store.schema_version()})")
    echo(f"config   {cfg.source}: {len(cfg.slos)} SLOs")
    return True
