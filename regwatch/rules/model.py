"""Rule objects, their YAML form, and a renderer for the few template forms the annotations use.

Annotations use only ``{{ $labels.NAME }}``, ``{{ printf "%.Nf" $value }}`` and
``{{ $value | humanizePercentage }}``; :func:`render_template` renders exactly those so the generated
promtool tests can state the annotations an alert must carry (and promtool, rendering with Go's
templates, checks that both agree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from regwatch.catalog import DASHBOARD_UIDS

#: Grafana dashboard uids the alerts link to (catalog.DASHBOARD_UIDS, which the dashboards use):
#: SLO, probe and log alerts go to on-call; the exporter's own health to debug.
DASHBOARD_SLO = DASHBOARD_UIDS["oncall"]
DASHBOARD_PROBES = DASHBOARD_UIDS["oncall"]
DASHBOARD_LOGS = DASHBOARD_UIDS["oncall"]
DASHBOARD_EXPORTER = DASHBOARD_UIDS["debug"]


@dataclass(frozen=True)
class Record:
    """A recording rule."""

    record: str
    expr: str
    labels: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class Alert:
    """An alerting rule; ``labels`` are the rule's static labels (severity, tier, window, ...)."""

    alert: str
    expr: str
    labels: tuple[tuple[str, str], ...]
    summary: str
    description: str
    runbook_url: str
    dashboard_url: str
    for_: str | None = None

    def annotations(self) -> dict[str, str]:
        return {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": self.runbook_url,
            "dashboard_url": self.dashboard_url,
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_:
            out["for"] = self.for_
        out["labels"] = dict(self.labels)
        out["annotations"] = self.annotations()
        return out

    def rendered(self, labels: dict[str, str], value: float) -> dict[str, str]:
        """The annotations Prometheus shows for an alert instance with ``labels`` and ``value``."""
        return {k: render_template(v, labels, value) for k, v in self.annotations().items()}


@dataclass(frozen=True)
class Group:
    """A rule group: evaluated in order, so records come before the alerts reading them."""

    name: str
    interval: str
    rules: list[Record | Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "interval": self.interval, "rules": [r.to_dict() for r in self.rules]}

    def alerts(self) -> list[Alert]:
        return [r for r in self.rules if isinstance(r, Alert)]


_TEMPLATE = re.compile(
    r"\{\{ (?:\$labels\.(?P<label>\w+)|printf \"(?P<fmt>%\.\d+f)\" \$value|\$value \| humanizePercentage) \}\}"
)


def render_template(text: str, labels: dict[str, str], value: float) -> str:
    """Render the template subset used by the annotations (see the module docstring)."""

    def one(m: re.Match[str]) -> str:
        if m.group("label"):
            return labels.get(m.group("label"), "")
        if m.group("fmt"):
            return m.group("fmt") % value
        return f"{value * 100:.4g}%"

    out = _TEMPLATE.sub(one, text)
    if "{{" in out:
        raise ValueError(f"template form not supported by render_template: {text!r}")
    return out


class _Dumper(yaml.SafeDumper):
    """Block style everywhere; multi-line strings (PromQL) as literal blocks."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any, header: str) -> str:
    """YAML text with a comment header; stable key order, no line wrapping."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=10_000)
    lines = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return lines + body
