"""Recording rules and multi-window multi-burn-rate alerts for one SLO.

Every window is traffic-weighted and cheap: each evaluation records the 5-minute rates of all events
and of bad events once; a window's event counts are ``sum_over_time`` of those rates times the
evaluation interval (the integral of the rate), and its error ratio is bad events / all events over
the window. No rule reads a long range of the raw counters, and a window with no traffic has ratio 0
(the denominator is clamped to 1 event), never NaN or Inf.
"""

from __future__ import annotations

from regwatch import catalog
from regwatch.config import AlertingConfig
from regwatch.rules.model import DASHBOARD_SLO, Alert, Group, Record
from regwatch.rules.spec import BASE_RANGE, SloSpec, selector
from regwatch.timeutil import parse_duration

ALERT_PAGE = "RegwatchSloBurnPage"
ALERT_TICKET = "RegwatchSloBurnTicket"
TIER_ALERTS: dict[str, str] = {"page": ALERT_PAGE, "ticket": ALERT_TICKET}

# Recording rule names (level:metric:operations). Every series carries the label slo="<name>".
EVENTS_RATE = f"slo:sli_events:rate{BASE_RANGE}"
ERRORS_RATE = f"slo:sli_errors:rate{BASE_RANGE}"
OBJECTIVE = "slo:objective:ratio"
BUDGET_REMAINING = "slo:error_budget_remaining:ratio"


def events_increase(window: str) -> str:
    """Name of the recorded event count over ``window``."""
    return f"slo:sli_events:increase{window}"


def errors_increase(window: str) -> str:
    """Name of the recorded bad-event count over ``window``."""
    return f"slo:sli_errors:increase{window}"


def error_ratio(window: str) -> str:
    """Name of the recorded error ratio over ``window``."""
    return f"slo:sli_error:ratio_rate{window}"


def windows(spec: SloSpec) -> list[str]:
    """The burn windows plus the SLO window, shortest first, each once."""
    ws = set(catalog.BURN_WINDOWS) | {spec.window}
    return sorted(ws, key=parse_duration)


def num(x: float) -> str:
    """A number as PromQL and people read it (0.001, 14.4, 60)."""
    return f"{x:.12g}"


def pct(x: float) -> str:
    """A ratio as a percentage without float noise (0.999 -> 99.9%)."""
    return f"{x * 100:.10g}%"


def _url(base: str, anchor: str) -> str:
    return f"{base.rstrip('#')}#{anchor.lower()}"


def slo_group(spec: SloSpec, alerting: AlertingConfig) -> Group:
    """The rule group of one SLO: rates, window counts and ratios, objective, budget, burn alerts."""
    sel = selector("", [("slo", "=", spec.name)])  # {slo="name"}
    step = num(parse_duration(alerting.evaluation_interval))
    base_secs = num(parse_duration(BASE_RANGE))
    rules: list[Record | Alert] = [
        Record(EVENTS_RATE, f"{spec.events_expr}\nor vector(0)\n", spec.labels),
        Record(ERRORS_RATE, f"{spec.errors_expr}\nor vector(0)\n", spec.labels),
    ]
    for w in windows(spec):
        for name, rate in ((events_increase(w), EVENTS_RATE), (errors_increase(w), ERRORS_RATE)):
            if w == BASE_RANGE:
                expr = f"{rate}{sel} * {base_secs}"
            else:
                expr = f"sum_over_time({rate}{sel}[{w}]) * {step}"
            rules.append(Record(name, expr, spec.labels))
        rules.append(
            Record(
                error_ratio(w),
                f"{errors_increase(w)}{sel}\n/ clamp_min({events_increase(w)}{sel}, 1)\n",
                spec.labels,
            )
        )
    rules.append(Record(OBJECTIVE, f"vector({num(spec.objective)})", spec.labels))
    rules.append(
        Record(BUDGET_REMAINING, f"1 - {error_ratio(spec.window)}{sel} / {num(spec.budget)}", spec.labels)
    )
    for tier in catalog.TIERS:
        if not getattr(spec, tier):
            continue
        for cond in catalog.BURN_POLICY[tier]:
            rules.append(burn_alert(spec, alerting, tier, cond))
    return Group(f"regwatch-slo-{spec.name}", alerting.evaluation_interval, rules)


def burn_alert(spec: SloSpec, alerting: AlertingConfig, tier: str, cond: catalog.BurnCondition) -> Alert:
    """One condition of a tier: both windows burn faster than ``cond.factor`` and the long one has traffic."""
    sel = selector("", [("slo", "=", spec.name)])
    budget = num(spec.budget)
    factor = num(cond.factor)
    expr = (
        f"(\n  {error_ratio(cond.long)}{sel} / {budget} > {factor}\n)\n"
        f"and on(slo) (\n  {error_ratio(cond.short)}{sel} / {budget} > {factor}\n)\n"
        f"and on(slo) (\n  {events_increase(cond.long)}{sel} >= {spec.min_events}\n)\n"
    )
    share = cond.factor * parse_duration(cond.long) / parse_duration(spec.window)
    what = spec.description.rstrip(".") or f"{spec.sli} from {spec.source}"
    name = TIER_ALERTS[tier]
    return Alert(
        alert=name,
        expr=expr,
        labels=(("severity", tier), ("tier", tier), ("window", cond.long), *spec.labels),
        summary=f"SLO {spec.name} is burning its error budget over {factor}x too fast ({cond.long} and "
        f"{cond.short} windows)",
        description=f"{what}. Over the last {cond.long} the error ratio is "
        '{{ printf "%.2f" $value }}x the budget rate '
        f"(objective {pct(spec.objective)} over {spec.window}, so {pct(spec.budget)} of events may fail); "
        f"over the last {cond.short} it is above {factor}x too, so it is still happening. "
        f"A {factor}x burn spends {share * 100:.3g}% of the {spec.window} error budget every {cond.long}.",
        runbook_url=_url(alerting.runbook_base_url, name),
        dashboard_url=f"{alerting.dashboard_base_url.rstrip('/')}/{DASHBOARD_SLO}",
    )
