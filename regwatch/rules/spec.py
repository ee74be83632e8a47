"""What the rules generator needs to know about one SLO, whichever way it was declared.

An :class:`SloSpec` holds two PromQL expressions — the per-second rate of all events and of bad events
over 5 minutes — plus the objective, window, labels and alerting switches. Config SLOs
(``regwatch.yaml``) and OpenSLO ``SLO`` objects both become one; everything downstream (recording
rules, alerts, promtool tests) reads only the spec.

A spec also knows how to *synthesise* input series for the promtool unit tests: given an error ratio
and a number of events per evaluation step, the counter series (and per-step increments) that make
its SLI show that ratio. Those fixtures double as documentation of what each SLI counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.utils import floatToGoString

from regwatch import catalog
from regwatch.config import Config, Slo
from regwatch.errors import ConfigError
from regwatch.slo.burn import budget_fraction
from regwatch.timeutil import format_duration, parse_duration

#: Range of the short rates every window is built from (recorded once per evaluation).
BASE_RANGE = "5m"

#: (series selector text, increment per evaluation step) pairs.
Fixture = Callable[[float, float], list[tuple[str, float]]]


def promql_string(value: str) -> str:
    """Quote ``value`` as a PromQL double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(name: str, matchers: list[tuple[str, str, str]]) -> str:
    """Render ``name{label op "value", ...}``; no braces when there are no matchers."""
    if not matchers:
        return name
    inner = ",".join(f"{k}{op}{promql_string(v)}" for k, op, v in matchers)
    return f"{name}{{{inner}}}"


def series(name: str, labels: dict[str, str]) -> str:
    """Render a promtool input series (every label an exact match, sorted)."""
    return selector(name, [(k, "=", labels[k]) for k in sorted(labels)])


def glob_regex(pattern: str) -> str:
    """Translate a repository glob (``platform/*``) into an RE2 regex for one repository name."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("[^:@]*")
        elif ch == "?":
            out.append("[^:@]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def le_regex(bound: float) -> str:
    """Match a bucket's ``le`` label as prometheus_client writes it (``2.0``) and as Prometheus 3 does (``2``)."""
    spellings = {floatToGoString(bound), f"{bound:.15g}"}
    return "|".join(re.escape(s) for s in sorted(spellings))


def normalise_window(window: str) -> str:
    """Return the canonical Prometheus spelling of a duration (``4w`` -> ``28d``)."""
    return format_duration(parse_duration(window))


@dataclass(frozen=True)
class SloSpec:
    """One SLO as the rules generator sees it."""

    name: str
    objective: float
    window: str
    description: str
    sli: str
    source: str  # probes | logs | openslo
    events_expr: str  # per-second rate of all events over BASE_RANGE; one series without labels (or none)
    errors_expr: str  # per-second rate of bad events, same shape
    labels: tuple[tuple[str, str], ...]  # static labels on every recorded series and alert, slo first
    page: bool = True
    ticket: bool = True
    min_events: int = 10
    fixture: Fixture | None = None  # (error ratio, events per step) -> input series for promtool tests
    origin: str = ""  # where the SLO was declared, for generated comments

    @property
    def budget(self) -> float:
        """The error budget as a ratio (1 - objective), exactly as `regwatch slo` computes it."""
        return budget_fraction(self.objective)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


# --- config SLOs -------------------------------------------------------------------------------------


def _probe_defaults(cfg: Config, slo: Slo) -> dict[str, str]:
    """Labels of a plausible probe series matching the SLO's filters (for test fixtures)."""
    registry = slo.filters.registry or (cfg.registries[0].name if cfg.registries else "main")
    reg = next((r for r in cfg.registries if r.name == registry), None)
    region = slo.filters.region or (reg.regions[0].name if reg and reg.regions else "default")
    auth_path = reg.auth_paths[0].name if reg and reg.auth_paths else "anonymous"
    canary = "platform/canary:v1"
    if reg and reg.canaries:
        canary = reg.canaries[0].label
    if slo.filters.repository is not None:
        rx = re.compile(glob_regex(slo.filters.repository) + "[:@].+")
        matching = [c.label for c in (reg.canaries if reg else []) if rx.fullmatch(c.label)]
        canary = (
            matching[0] if matching else slo.filters.repository.replace("*", "x").replace("?", "x") + ":v1"
        )
    return {"registry": registry, "region": region, "auth_path": auth_path, "canary": canary}


def _log_defaults(cfg: Config, slo: Slo) -> dict[str, str]:
    src = cfg.logs[0] if cfg.logs else None
    return {
        "registry": slo.filters.registry or (src.registry if src else "default"),
        "region": slo.filters.region or (src.region if src else "default"),
    }


def _rate(sel: str) -> str:
    return f"sum(rate({sel}[{BASE_RANGE}]))"


def from_config(cfg: Config, index: int) -> SloSpec:
    """Build the spec of ``cfg.slos[index]``; raise ConfigError for what rules cannot express."""
    slo = cfg.slos[index]
    where = f"{cfg.source}: slos[{index}]"
    f = slo.filters
    matchers: list[tuple[str, str, str]] = []
    static: list[tuple[str, str]] = [("slo", slo.name)]
    if f.registry is not None:
        matchers.append(("registry", "=", f.registry))
        static.append(("registry", f.registry))
    if f.region is not None:
        matchers.append(("region", "=", f.region))
        static.append(("region", f.region))
    fixture: Fixture
    if slo.source == "probes":
        if f.repository is not None:
            matchers.append(("canary", "=~", glob_regex(f.repository) + "[:@].+"))
        base = _probe_defaults(cfg, slo)
        if slo.sli == "pull_latency":
            assert slo.threshold_seconds is not None  # config validation guarantees it
            hist = catalog.PROBE_PULL_DURATION.name
            count = selector(f"{hist}_count", matchers)
            good = selector(
                f"{hist}_bucket",
                [*matchers, ("result", "=", "success"), ("le", "=~", le_regex(slo.threshold_seconds))],
            )
            events = _rate(count)
            errors = f"clamp_min({_rate(count)} - ({_rate(good)} or vector(0)), 0)"
            le = floatToGoString(slo.threshold_seconds)

            def fixture(
                ratio: float, n: float, base: dict[str, str] = base, le: str = le
            ) -> list[tuple[str, float]]:
                # Half the bad pulls fail, half succeed too slowly: both count against the SLO.
                ok = {**base, "result": "success"}
                failed = {**base, "result": "failure"}
                return [
                    (series(f"{hist}_bucket", {**ok, "le": le}), n * (1 - ratio)),
                    (series(f"{hist}_bucket", {**ok, "le": "+Inf"}), n * (1 - ratio / 2)),
                    (series(f"{hist}_count", ok), n * (1 - ratio / 2)),
                    (series(f"{hist}_count", failed), n * ratio / 2),
                ]

        else:
            name = catalog.PROBE_PULLS.name
            events = _rate(selector(name, matchers))
            errors = _rate(selector(name, [*matchers, ("result", "!=", "success")]))

            def fixture(ratio: float, n: float, base: dict[str, str] = base) -> list[tuple[str, float]]:
                return [
                    (series(name, {**base, "result": "success"}), n * (1 - ratio)),
                    (series(name, {**base, "result": "failure"}), n * ratio),
                ]

    else:
        if f.repository is not None:
            raise ConfigError(
                f"{where}.filters.repository: a log SLO's alert rules read {catalog.LOG_PULLS.name}, "
                "which has no repository label; drop the filter or use a probe SLO"
            )
        base = _log_defaults(cfg, slo)
        if slo.sli == "push_success":
            name = catalog.LOG_PUSHES.name
            events = _rate(selector(name, [*matchers, ("class", "=~", "good|bad")]))
            errors = _rate(selector(name, [*matchers, ("class", "=", "bad")]))

            def fixture(ratio: float, n: float, base: dict[str, str] = base) -> list[tuple[str, float]]:
                return [
                    (series(name, {**base, "class": "good"}), n * (1 - ratio)),
                    (series(name, {**base, "class": "bad"}), n * ratio),
                    (series(name, {**base, "class": "excluded"}), n * 0.25),  # never counted
                ]

        else:
            name = catalog.LOG_PULLS.name
            first = [("attempt", "=", "first")] if slo.sli == "first_attempt_success" else []
            events = _rate(selector(name, [*matchers, ("class", "=~", "good|bad"), *first]))
            errors = _rate(selector(name, [*matchers, ("class", "=", "bad"), *first]))
            only_first = bool(first)

            def fixture(
                ratio: float, n: float, base: dict[str, str] = base, only_first: bool = only_first
            ) -> list[tuple[str, float]]:
                def s(cls: str, attempt: str) -> str:
                    return series(name, {**base, "class": cls, "attempt": attempt})

                if only_first:  # retries are noise for a first-attempt SLI
                    return [
                        (s("good", "first"), n * (1 - ratio)),
                        (s("bad", "first"), n * ratio),
                        (s("bad", "retry"), n * 0.5),
                        (s("excluded", "first"), n * 0.25),
                    ]
                return [
                    (s("good", "first"), n * (1 - ratio) / 2),
                    (s("good", "retry"), n * (1 - ratio) / 2),
                    (s("bad", "first"), n * ratio),
                    (s("excluded", "first"), n * 0.25),
                ]

    return SloSpec(
        name=slo.name,
        objective=slo.objective,
        window=normalise_window(slo.window),
        description=slo.description,
        sli=slo.sli,
        source=slo.source,
        events_expr=events,
        errors_expr=errors,
        labels=tuple(static),
        page=slo.alerting.page,
        ticket=slo.alerting.ticket,
        min_events=slo.alerting.min_events or cfg.alerting.min_events,
        fixture=fixture,
        origin=f"{cfg.source} slos[{index}]",
    )


def all_specs(cfg: Config, openslo: tuple[SloSpec, ...] | list[SloSpec] = ()) -> list[SloSpec]:
    """Every SLO of the config, then the OpenSLO ones; raise ConfigError on a name used twice."""
    specs = [from_config(cfg, i) for i in range(len(cfg.slos))] + list(openslo)
    seen: dict[str, str] = {}
    for s in specs:
        if s.name in seen:
            raise ConfigError(f"{s.origin}: SLO name {s.name!r} is also used by {seen[s.name]}")
        seen[s.name] = s.origin
    return specs
