"""Pull the PromQL out of generated dashboards and substitute their variables, for the dashboard tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

#: What Grafana would put in for its built-in interval and range variables.
BUILTINS: dict[str, str] = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard, rows and the panels inside collapsed rows included."""
    for p in dashboard["panels"]:
        yield p
        yield from p.get("panels", [])


def targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query target of a dashboard."""
    for p in panels(dashboard):
        for t in p.get("targets", []):
            yield p, t


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace Grafana's built-ins and the dashboard's query variables (``$name`` / ``${name}``)."""
    for name, value in sorted(BUILTINS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(name, value)

    def var(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"no value for dashboard variable ${name} in {expr!r}")
        return values[name]

    out = re.sub(r"\$\{(\w+)\}|\$(\w+)", var, expr)
    assert "$" not in out, out
    return out


def load_all(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The dashboards among generated files, parsed, by file name."""
    return {name: json.loads(text) for name, text in files.items() if name.endswith(".json")}


LABEL_VALUES = re.compile(r"^label_values\((?:(?P<match>.+),\s*)?(?P<label>\w+)\)$")
