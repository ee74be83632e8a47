"""Regenerate every checked-in generated file: ``python -m regwatch.regen`` (``make regen``).

Writes docs/metrics.md from the catalogue, and rules/ and dashboards/ from examples/regwatch.yaml.
Tests compare these files with fresh output, so CI fails when they are stale.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from regwatch import metrics_doc
from regwatch.config import load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "regwatch.yaml"

#: (module, function) pairs called as fn(cfg, root) -> list of written paths; optional until they exist.
GENERATORS: tuple[tuple[str, str], ...] = (
    ("regwatch.rules", "regen"),
    ("regwatch.dashboards", "regen"),
)


def main() -> int:
    """Write every generated file and list them on stderr."""
    written = [ROOT / "docs" / "metrics.md"]
    written[0].write_text(metrics_doc.render(), encoding="utf-8")
    cfg = load_config(EXAMPLE)
    for module, fn in GENERATORS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        written += getattr(mod, fn)(cfg, ROOT)
    for path in written:
        print(f"wrote {Path(path).relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
