"""Panel, variable and threshold builders on grafana-foundation-sdk, in the shape regwatch uses.

Every panel gets an id, a title, a description, a unit, a thresholds config and the
``$datasource`` variable as its data source, so the JSON-model test can insist on all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import heatmap, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.common import (
    GraphThresholdsStyleConfig,
    ReduceDataOptions,
    VizLegendOptions,
)
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from regwatch import catalog
from regwatch.dashboards.promql import VARIABLES

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")

#: Which metric each query variable lists its values from: the probe pulls carry all three labels.
VARIABLE_SOURCE = catalog.PROBE_PULLS


@dataclass(frozen=True)
class Query:
    """One PromQL target: the expression, its legend, and whether it is an instant query."""

    expr: str
    legend: str = "__auto"
    instant: bool = False
    fmt: str = "time_series"  # time_series | table | heatmap
    unit: str | None = None  # overrides the panel's unit for this query's series


@dataclass(frozen=True)
class Step:
    """One threshold step: from ``value`` up (None = the base step) the colour is ``color``."""

    color: str
    value: float | None = None


@dataclass
class Link:
    title: str
    url: str


@dataclass
class Spec:
    """What a panel shows; ``build`` turns it into an SDK builder."""

    kind: str  # timeseries | stat | table | heatmap
    title: str
    description: str
    unit: str
    queries: Sequence[Query]
    steps: Sequence[Step] = (Step("green"),)
    width: int = 12
    height: int = 8
    links: list[Link] = field(default_factory=list)
    threshold_lines: bool = False
    min: float | None = None
    max: float | None = None


# --- units ------------------------------------------------------------------------------------------

_PER_SECOND = {"short": "cps", "bytes": "Bps", "reqps": "reqps"}
_COUNT = {"reqps": "short", "cps": "short", "Bps": "bytes"}


def per_second(metric: catalog.Metric) -> str:
    """Grafana unit of ``rate()`` of a counter whose catalogue unit counts things (short -> cps)."""
    return _PER_SECOND.get(metric.unit, metric.unit)


def count(metric: catalog.Metric) -> str:
    """Grafana unit of ``increase()`` of a counter whose catalogue unit is a rate (reqps -> short)."""
    return _COUNT.get(metric.unit, metric.unit)


# --- thresholds -------------------------------------------------------------------------------------


def at_least(objective: float) -> list[Step]:
    """Red below ``objective``, green from it up (an SLI against its SLO)."""
    return [Step("red"), Step("green", objective)]


def at_most(limit: float, warn: float | None = None) -> list[Step]:
    """Green below ``limit``, red from it (a lag or latency against its threshold)."""
    steps = [Step("green")]
    if warn is not None and warn < limit:
        steps.append(Step("orange", warn))
    return [*steps, Step("red", limit)]


def budget_steps() -> list[Step]:
    """Error budget remaining: red when overspent, orange in its last quarter, green otherwise."""
    return [Step("red"), Step("orange", 0.0), Step("green", 0.25)]


def burn_steps() -> list[Step]:
    """Burn rate: one step at each factor of the burn-rate policy, the page factors in red."""
    tier_of: dict[float, str] = {}
    for tier in reversed(catalog.TIERS):
        for cond in catalog.BURN_POLICY[tier]:
            tier_of[cond.factor] = tier
    colors = {"page": "red", "ticket": "orange"}
    steps = [Step("green")]
    for factor in sorted(tier_of):
        steps.append(Step(colors[tier_of[factor]], factor))
    return steps


def _thresholds(steps: Sequence[Step]) -> gd.ThresholdsConfig:
    return (
        gd.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=s.value, color=s.color) for s in steps])
    )


# --- panels -----------------------------------------------------------------------------------------


def _target(q: Query, ref: str) -> prometheus.Dataquery:
    t = prometheus.Dataquery().expr(q.expr).ref_id(ref).legend_format(q.legend).datasource(DATASOURCE)
    t = t.instant() if q.instant else t.range()
    if q.fmt == "table":
        t = t.format(PromQueryFormat.TABLE)
    elif q.fmt == "heatmap":
        t = t.format(PromQueryFormat.HEATMAP)
    return t


def build(spec: Spec, panel_id: int) -> Builder[dm.Panel]:
    """Return the SDK builder of one panel."""
    p: timeseries.Panel | stat.Panel | table.Panel | heatmap.Panel
    if spec.kind == "timeseries":
        ts = timeseries.Panel().legend(
            VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        if spec.threshold_lines:
            ts = ts.thresholds_style(
                GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
            )
        p = ts
    elif spec.kind == "stat":
        p = (
            stat.Panel()
            .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
            .color_mode(common.BigValueColorMode.BACKGROUND)
            .graph_mode(common.BigValueGraphMode.AREA)
        )
    elif spec.kind == "table":
        p = table.Panel()
    elif spec.kind == "heatmap":
        p = (
            heatmap.Panel()
            .calculate(False)
            .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.LE))
            .y_axis(heatmap.YAxisConfig().unit(spec.unit))
        )
    else:
        raise ValueError(f"unknown panel kind {spec.kind}")
    p = (
        p.id(panel_id)
        .title(spec.title)
        .description(spec.description)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .thresholds(_thresholds(spec.steps))
        .span(spec.width)
        .height(spec.height)
        .targets([_target(q, chr(ord("A") + i)) for i, q in enumerate(spec.queries)])
    )
    if spec.min is not None:
        p = p.min(spec.min)
    if spec.max is not None:
        p = p.max(spec.max)
    for i, q in enumerate(spec.queries):
        if q.unit is not None:
            p = p.override_by_query(chr(ord("A") + i), [dm.DynamicConfigValue(id_val="unit", value=q.unit)])
    if spec.links:
        p = p.links([gd.DashboardLink(link.title).url(link.url).target_blank(True) for link in spec.links])
    return p


# --- variables ----------------------------------------------------------------------------------------


def variables() -> list[Builder[dm.VariableModel]]:
    """The datasource variable, then ``registry``, ``region``, ``auth_path`` (each narrowed by the ones before)."""
    out: list[Builder[dm.VariableModel]] = [
        gd.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .description("The Prometheus that scrapes regwatch serve (and evaluates the regwatch rules).")
    ]
    for i, name in enumerate(VARIABLES):
        narrowed = ",".join(f'{v}=~"${v}"' for v in VARIABLES[:i])
        source = f"{VARIABLE_SOURCE.name}{{{narrowed}}}" if narrowed else VARIABLE_SOURCE.name
        out.append(
            gd.QueryVariable(name)
            .label(name.replace("_", " "))
            .description(f"Filter by the {name} label of the probe and log metrics.")
            .datasource(DATASOURCE)
            .query(f"label_values({source}, {name})")
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dm.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .current(dm.VariableOption(selected=True, text="All", value="$__all"))
        )
    return out
