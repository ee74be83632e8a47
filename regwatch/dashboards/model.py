"""Assemble a dashboard from sections of panel specs, and serialise it deterministically."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from regwatch.catalog import DASHBOARD_UIDS
from regwatch.config import Config
from regwatch.dashboards import panels
from regwatch.dashboards.panels import Link, Spec

#: Stable dashboard UIDs (Grafana allows up to 40 characters); alert annotations link to them.
UIDS: dict[str, str] = DASHBOARD_UIDS
TITLES: dict[str, str] = {
    "executive": "regwatch / Executive",
    "oncall": "regwatch / On-call",
    "debug": "regwatch / Debug",
}
TAG = "regwatch"


@dataclass
class Section:
    """A row of the dashboard: a title and its panels, laid out left to right, top to bottom."""

    title: str
    specs: Sequence[Spec]


#: The last config's runbook URLs (Config holds lists, so it cannot key an lru_cache).
_RUNBOOKS: list[tuple[Config, dict[str, str]]] = []


def runbook_urls(cfg: Config) -> dict[str, str]:
    """Return each alert's runbook URL as the generated rules annotate it, by alert name."""
    if _RUNBOOKS and _RUNBOOKS[0][0] is cfg:
        return _RUNBOOKS[0][1]
    from regwatch.rules import slo, spec, symptoms

    urls = {s.alert.alert: s.alert.runbook_url for s in symptoms.build(cfg)}
    for sp in spec.all_specs(cfg):
        for alert in slo.slo_group(sp, cfg.alerting).alerts():
            urls.setdefault(alert.alert, alert.runbook_url)
    _RUNBOOKS[:] = [(cfg, urls)]
    return urls


def runbook_links(cfg: Config, *alerts: str) -> list[Link]:
    """Return panel links to the runbooks of ``alerts`` (the runbooks page when none is given)."""
    if not alerts:
        return [Link("Runbooks", cfg.alerting.runbook_base_url)]
    urls = runbook_urls(cfg)
    return [Link(f"Runbook: {a}", urls.get(a, cfg.alerting.runbook_base_url)) for a in alerts]


def assemble(cfg: Config, kind: str, description: str, sections: Sequence[Section]) -> dm.Dashboard:
    """Build the dashboard ``kind`` (a key of UIDS) from its sections."""
    d = (
        gd.Dashboard(TITLES[kind])
        .uid(UIDS[kind])
        .description(description)
        .tags([TAG, kind])
        .editable()
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("utc")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .variables(panels.variables())
    )
    for other, uid in UIDS.items():
        if other != kind:
            d = d.link(
                gd.DashboardLink(TITLES[other])
                .type(dm.DashboardLinkType.LINK)
                .url(f"/d/{uid}")
                .icon("dashboard")
                .include_vars(True)
                .keep_time(True)
            )
    d = d.link(
        gd.DashboardLink("Runbooks")
        .type(dm.DashboardLinkType.LINK)
        .url(cfg.alerting.runbook_base_url)
        .icon("doc")
        .target_blank(True)
    )
    next_id = 1
    for section in sections:
        d = d.with_row(gd.Row(section.title).id(next_id))
        next_id += 1
        for spec in section.specs:
            d = d.with_panel(panels.build(spec, next_id))
            next_id += 1
    return d.build()


def to_json(model: dm.Dashboard) -> str:
    """Serialise a dashboard model: sorted keys, two-space indent, trailing newline."""
    return json.dumps(model, cls=JSONEncoder, sort_keys=True, indent=2) + "\n"
