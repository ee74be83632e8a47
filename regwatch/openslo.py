"""Read OpenSLO v1 ``SLO`` objects (ratio metrics over Prometheus queries) as rule-generator specs.

Supported: ``apiVersion: openslo/v1``, ``kind: SLO`` with an inline ``indicator`` or an
``indicatorRef`` to a ``kind: SLI`` in the same files; ``spec.indicator.spec.ratioMetric`` with
``good``/``total`` or ``bad``/``total``, each ``metricSource.type: Prometheus`` with
``metricSource.spec.query``; one objective (``target`` or ``targetPercent``); one rolling
``timeWindow``. With ``counter: true`` (the usual case) each query selects counters and is turned into
a 5-minute rate; with ``counter: false`` it must already give a per-second rate. Other documents
(Service, AlertPolicy, ...) are ignored. Anything else is a ConfigError naming the file and document.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from regwatch.config import LABEL_VALUE, AlertingConfig
from regwatch.errors import ConfigError
from regwatch.rules.spec import BASE_RANGE, SloSpec, normalise_window, series

#: A plain vector selector with only equality matchers: its input series can be synthesised for tests.
_PLAIN = re.compile(
    r'^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{((?:\s*[a-zA-Z_]\w*\s*=\s*"[^"\\]*"\s*,?)*)\})?\s*$'
)
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*=\s*"([^"\\]*)"')
_SELECTOR = re.compile(r"^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^{}]*\})?\s*$")

OpenSloSpec = SloSpec


def _get(doc: dict[str, Any], path: str, where: str) -> Any:
    cur: Any = doc
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            raise ConfigError(f"{where}: {path}: required key is missing")
        cur = cur[key]
    return cur


def _rate(query: str, counter: bool) -> str:
    q = query.strip()
    if not counter:
        return f"sum({q})"
    if _SELECTOR.match(q):
        return f"sum(rate({q}[{BASE_RANGE}]))"
    return f"sum(rate(({q})[{BASE_RANGE}:]))"  # a subquery: the query is an expression over counters


def _plain(query: str) -> tuple[str, dict[str, str]] | None:
    m = _PLAIN.match(query)
    if not m:
        return None
    return m.group(1), dict(_MATCHER.findall(m.group(2) or ""))


def _matches(sel: tuple[str, dict[str, str]], s: tuple[str, dict[str, str]]) -> bool:
    return sel[0] == s[0] and all(s[1].get(k) == v for k, v in sel[1].items())


def _fixture(kind: str, ratio_q: str, total_q: str, counter: bool) -> Any:
    """Input series for promtool tests when both queries are plain equality selectors, else None."""
    a, t = _plain(ratio_q), _plain(total_q)
    if not counter or a is None or t is None or a == t:
        return None
    # Two synthetic series: one labelled like each selector. Solve for their increments so that the
    # ratio query sums to good (or bad) events and the total query to all events.
    rows = [[_matches(sel, s) for s in (a, t)] for sel in (a, t)]
    det = rows[0][0] * rows[1][1] - rows[0][1] * rows[1][0]
    if det == 0:
        return None

    def fixture(ratio: float, n: float) -> list[tuple[str, float]]:
        want = (n * (1 - ratio) if kind == "good" else n * ratio, n)
        x0 = (want[0] * rows[1][1] - rows[0][1] * want[1]) / det
        x1 = (rows[0][0] * want[1] - rows[1][0] * want[0]) / det
        return [(series(a[0], a[1]), x0), (series(t[0], t[1]), x1)]

    probe = fixture(0.5, 1.0)
    if any(inc < 0 for _, inc in probe):
        return None
    return fixture


def _spec(doc: dict[str, Any], slis: dict[str, Any], where: str, alerting: AlertingConfig) -> SloSpec:
    name = str(_get(doc, "metadata.name", where))
    if not LABEL_VALUE.match(name):
        raise ConfigError(
            f"{where}: metadata.name: {name!r} must match [a-z0-9_-]+ (it becomes a label value)"
        )
    spec = _get(doc, "spec", where)
    if "indicator" in spec:
        indicator = spec["indicator"]
    elif "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if ref not in slis:
            raise ConfigError(f"{where}: spec.indicatorRef: no kind: SLI named {ref!r} in the given files")
        indicator = slis[ref]
    else:
        raise ConfigError(f"{where}: spec.indicator or spec.indicatorRef is required")
    ratio = _get(indicator, "spec.ratioMetric", f"{where}: indicator")
    counter = bool(ratio.get("counter", True))
    kinds = [k for k in ("good", "bad") if k in ratio]
    if len(kinds) != 1 or "total" not in ratio:
        raise ConfigError(f"{where}: ratioMetric needs total and exactly one of good or bad")
    kind = kinds[0]
    queries = {}
    for part in (kind, "total"):
        src = _get(ratio, f"{part}.metricSource", f"{where}: ratioMetric")
        if str(src.get("type", "")).lower() != "prometheus":
            raise ConfigError(f"{where}: ratioMetric.{part}.metricSource.type: only Prometheus is supported")
        q = _get(src, "spec.query", f"{where}: ratioMetric.{part}.metricSource")
        if not isinstance(q, str) or not q.strip():
            raise ConfigError(f"{where}: ratioMetric.{part}.metricSource.spec.query: must be a PromQL string")
        queries[part] = q.strip()
    objectives = spec.get("objectives") or []
    if len(objectives) != 1:
        raise ConfigError(
            f"{where}: spec.objectives: exactly one objective is supported (got {len(objectives)})"
        )
    obj = objectives[0]
    target = obj.get("target")
    if target is None and obj.get("targetPercent") is not None:
        target = float(obj["targetPercent"]) / 100
    if not isinstance(target, int | float) or not 0 < float(target) < 1:
        raise ConfigError(f"{where}: spec.objectives[0].target: must be between 0 and 1 (exclusive)")
    windows = spec.get("timeWindow") or []
    if len(windows) != 1 or not isinstance(windows[0], dict):
        raise ConfigError(f"{where}: spec.timeWindow: exactly one time window is required")
    if windows[0].get("isRolling", True) is not True or "calendar" in windows[0]:
        raise ConfigError(f"{where}: spec.timeWindow[0]: only rolling windows are supported")
    try:
        window = normalise_window(str(_get(windows[0], "duration", f"{where}: timeWindow[0]")))
    except ValueError as exc:
        raise ConfigError(f"{where}: spec.timeWindow[0].duration: {exc}") from None
    total = _rate(queries["total"], counter)
    part = _rate(queries[kind], counter)
    errors = part if kind == "bad" else f"clamp_min({total} - ({part} or vector(0)), 0)"
    return SloSpec(
        name=name,
        objective=round(float(target), 12),
        window=window,
        description=str(spec.get("description") or doc.get("metadata", {}).get("displayName") or ""),
        sli="ratio",
        source="openslo",
        events_expr=total,
        errors_expr=errors,
        labels=(("slo", name),),
        min_events=alerting.min_events,
        fixture=_fixture(kind, queries[kind], queries["total"], counter),
        origin=where,
    )


def load_openslo(
    paths: Sequence[str | os.PathLike[str]], alerting: AlertingConfig | None = None
) -> list[SloSpec]:
    """Read every ``kind: SLO`` in the YAML files (multi-document allowed), in file and document order."""
    alerting = alerting or AlertingConfig()
    docs: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        p = Path(path)
        try:
            loaded = list(yaml.safe_load_all(p.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: invalid YAML: {exc}") from None
        for i, doc in enumerate(loaded):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise ConfigError(f"{p}: document {i + 1}: not a mapping")
            docs.append((f"{p} document {i + 1}", doc))
    slis = {
        str(d.get("metadata", {}).get("name")): d
        for _, d in docs
        if d.get("kind") == "SLI" and isinstance(d.get("spec"), dict)
    }
    out = []
    for where, doc in docs:
        if doc.get("kind") != "SLO":
            continue
        if doc.get("apiVersion") != "openslo/v1":
            raise ConfigError(
                f"{where}: apiVersion: only openslo/v1 is supported (got {doc.get('apiVersion')!r})"
            )
        out.append(_spec(doc, slis, where, alerting))
    return out
