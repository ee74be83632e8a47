"""promtool unit tests for the generated rules (``promtool test rules FILE``).

For every SLO and every enabled tier, each burn condition gets two test groups: the error ratio held
at 1.05x its factor (the alert must fire, value exactly that burn) and at 0.95x (it must stay silent).
Because the ratio is constant, every window shows the same burn, so the expected set of firing
conditions is exactly those whose factor is below the burn — the tests pin that whole set. Two more
groups per SLO: a trickle of failures below the low-traffic guard never pages, and no traffic at all
records an error ratio of 0 (not NaN). Each symptom alert fires in its own cases.
"""

from __future__ import annotations

from typing import Any

from regwatch import catalog
from regwatch.rules.model import Alert, Group
from regwatch.rules.slo import TIER_ALERTS, error_ratio, num
from regwatch.rules.spec import SloSpec, selector
from regwatch.rules.symptoms import Case, Symptom
from regwatch.timeutil import format_duration, parse_duration

ABOVE = 1.05
BELOW = 0.95
#: Events per evaluation step in the burn tests (large, so rounding never matters).
EVENTS_PER_STEP = 1000.0
#: Latest evaluation time of the burn tests (promtool evaluates every rule at every step up to it).
MAX_EVAL = "2h"


def _values(increment: float, steps: int) -> str:
    return f"0+{num(increment)}x{steps}"


def _at(steps: int, step_seconds: float) -> str:
    return format_duration(steps * step_seconds)


def _exp(alert: Alert, result_labels: dict[str, str], value: float) -> dict[str, Any]:
    labels = {**result_labels, **dict(alert.labels)}
    return {"exp_labels": dict(sorted(labels.items())), "exp_annotations": alert.rendered(labels, value)}


def slo_tests(spec: SloSpec, group: Group, step: float) -> list[dict[str, Any]]:
    """The promtool test groups of one SLO (empty when its input series cannot be synthesised)."""
    if spec.fixture is None:
        return []
    by_tier_window = {(a.labels[1][1], a.labels[2][1]): a for a in group.alerts()}
    tests: list[dict[str, Any]] = []
    for tier in catalog.TIERS:
        if not getattr(spec, tier):
            continue
        for cond in catalog.BURN_POLICY[tier]:
            # Constant ratio from the start: every window with data shows the same burn, so evaluating
            # at the long window (capped at MAX_EVAL) tests the same thing, minus days of evaluation.
            steps = int(min(parse_duration(cond.long), parse_duration(MAX_EVAL)) // step)
            for side, mult in (("above", ABOVE), ("below", BELOW)):
                burn = round(cond.factor * mult, 6)
                ratio = burn * spec.budget
                firing = [c for c in catalog.BURN_POLICY[tier] if burn > c.factor]
                verb = "fires" if side == "above" else "stays silent"
                tests.append({
                    "name": f"{spec.name}: {tier} {cond.long}/{cond.short} {verb} at burn {num(burn)} "
                    f"({side} {num(cond.factor)})",
                    "interval": format_duration(step),
                    "input_series": [
                        {"series": s, "values": _values(inc, steps)}
                        for s, inc in spec.fixture(ratio, EVENTS_PER_STEP)
                    ],
                    "alert_rule_test": [{
                        "eval_time": _at(steps, step),
                        "alertname": TIER_ALERTS[tier],
                        "exp_alerts": [
                            _exp(by_tier_window[(tier, c.long)], spec.label_map, burn) for c in firing
                        ],
                    }],
                })  # fmt: skip
    tests.append(_guard_test(spec, step))
    tests.append(_no_traffic_test(spec, step))
    return tests


def _guard_test(spec: SloSpec, step: float) -> dict[str, Any]:
    """All pulls fail, but fewer than min_events fall in any page window: no page."""
    hour = int(3600 // step)
    per_hour = max(1, spec.min_events // 2)
    every = max(1, hour // per_hour)
    assert spec.fixture is not None
    inputs = []
    for s, inc in spec.fixture(1.0, 1.0):
        if inc == 0:
            continue
        values = " ".join(f"{num(i * inc)}x{every - 1}" for i in range(hour // every + 2))
        inputs.append({"series": s, "values": values})
    sel = selector(error_ratio("1h"), [("slo", "=", spec.name)])
    return {
        "name": f"{spec.name}: every event fails but fewer than {spec.min_events} per window: no page",
        "interval": format_duration(step),
        "input_series": inputs,
        "promql_expr_test": [{
            "expr": sel,
            "eval_time": _at(hour, step),
            "exp_samples": [{"labels": selector(error_ratio("1h"), sorted(
                (k, "=", v) for k, v in spec.labels)), "value": 1}],
        }],
        "alert_rule_test": [{"eval_time": _at(hour, step), "alertname": TIER_ALERTS["page"], "exp_alerts": []}],
    }  # fmt: skip


def _no_traffic_test(spec: SloSpec, step: float) -> dict[str, Any]:
    """No events at all: every window's error ratio is 0 and nothing alerts."""
    steps = int(parse_duration("1h") // step)
    labels = sorted((k, "=", v) for k, v in spec.labels)
    return {
        "name": f"{spec.name}: no traffic records ratio 0, not NaN, and never alerts",
        "interval": format_duration(step),
        "input_series": [{"series": 'up{job="unrelated"}', "values": f"1x{steps}"}],
        "promql_expr_test": [
            {"expr": selector(error_ratio(w), [("slo", "=", spec.name)]), "eval_time": _at(steps, step),
             "exp_samples": [{"labels": selector(error_ratio(w), labels), "value": 0}]}
            for w in ("5m", "1h", spec.window)
        ],
        "alert_rule_test": [
            {"eval_time": _at(steps, step), "alertname": name, "exp_alerts": []}
            for name in TIER_ALERTS.values()
        ],
    }  # fmt: skip


def symptom_tests(symptoms: list[Symptom], step: float) -> list[dict[str, Any]]:
    """One promtool test group per symptom case."""
    tests = []
    for s in symptoms:
        for case in s.cases:
            tests.append(_case(s.alert, case, step))
    return tests


def _case(alert: Alert, case: Case, step: float) -> dict[str, Any]:
    return {
        "name": f"{alert.alert}: {case.name}",
        "interval": format_duration(step),
        "input_series": [{"series": s, "values": v} for s, v in case.inputs],
        "alert_rule_test": [{
            "eval_time": _at(case.eval_steps, step),
            "alertname": alert.alert,
            "exp_alerts": [_exp(alert, labels, value) for labels, value in case.expected],
        }],
    }  # fmt: skip


def test_file(rule_files: list[str], step: float, tests: list[dict[str, Any]]) -> dict[str, Any]:
    """A promtool test file."""
    return {"rule_files": rule_files, "evaluation_interval": format_duration(step), "tests": tests}


def untestable(specs: list[SloSpec]) -> list[str]:
    """Names of SLOs whose input series the generator cannot synthesise."""
    return [s.name for s in specs if s.fixture is None]
