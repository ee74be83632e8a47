"""PromQL for the dashboards: selectors with the dashboard variables, SLI error ratios, burn rates.

Every metric name and label comes from :mod:`regwatch.catalog`; every SLO series is a recording rule
of :mod:`regwatch.rules`, named by that module (traffic-weighted, cheap over a whole SLO window, and
0 rather than NaN when there is no traffic), so the dashboards and the alerts read the same numbers.
"""

from __future__ import annotations

from regwatch import catalog
from regwatch.catalog import Metric
from regwatch.config import Config, Slo
from regwatch.rules import slo as rules_slo
from regwatch.rules.spec import normalise_window
from regwatch.slo.burn import budget_fraction
from regwatch.timeutil import parse_duration

#: The dashboard query variables, each a label of the probe metrics.
VARIABLES: tuple[str, ...] = ("registry", "region", "auth_path")

#: A fixed window for "how many in the last few minutes" panels: the shortest burn window, so
#: the panels agree with the 5m recording rules and hold at least four scrapes at any sane interval.
RECENT = catalog.BURN_WINDOWS[0]


def _matchers(pairs: list[tuple[str, str, str]]) -> str:
    return ",".join(f'{label}{op}"{value}"' for label, op, value in pairs)


def selector(
    metric: Metric,
    *matchers: tuple[str, str, str],
    suffix: str = "",
    variables: bool = True,
) -> str:
    """Return ``name{...}``: the dashboard variables that are labels of ``metric``, then ``matchers``."""
    pairs: list[tuple[str, str, str]] = []
    if variables:
        pairs += [(v, "=~", f"${v}") for v in VARIABLES if v in metric.labels]
    for label, _, _ in matchers:
        if label not in metric.labels and label != "le":
            raise ValueError(f"{metric.name} has no label {label!r}")  # a programming error
    pairs += list(matchers)
    body = _matchers(pairs)
    return f"{metric.name}{suffix}{{{body}}}" if body else f"{metric.name}{suffix}"


# --- SLOs: the recording rules of regwatch.rules -----------------------------------------------------


def slo_matcher(slo: Slo) -> str:
    """Return ``{slo="name"}``: every recorded SLO series carries the SLO's name."""
    return "{" + _matchers([("slo", "=", slo.name)]) + "}"


def recorded_windows(slo: Slo) -> list[str]:
    """Return the windows the rules record an error ratio for: the burn windows and the SLO window."""
    return sorted({*catalog.BURN_WINDOWS, slo_window(slo)}, key=parse_duration)


def slo_window(slo: Slo) -> str:
    """Return the SLO window as the rules spell it (``4w`` -> ``28d``)."""
    return normalise_window(slo.window)


def error_ratio(slo: Slo, window: str) -> str:
    """Return the SLO's recorded error ratio over ``window`` (0 when there was no traffic, never NaN)."""
    if window not in recorded_windows(slo):
        raise ValueError(
            f"the rules record no {window} error ratio for SLO {slo.name}"
        )  # a programming error
    return f"{rules_slo.error_ratio(window)}{slo_matcher(slo)}"


def burn_rate(slo: Slo, window: str) -> str:
    """Return the SLO's burn rate over ``window`` (error ratio / error budget)."""
    return f"{error_ratio(slo, window)} / {budget(slo)}"


def budget(slo: Slo) -> str:
    """Return the error budget ``1 - objective`` as a PromQL literal, as the rules and `regwatch slo` use it."""
    return f"{budget_fraction(slo.objective):.12g}"


def budget_remaining(slo: Slo) -> str:
    """Return the SLO's recorded error budget remaining over its window."""
    return f"{rules_slo.BUDGET_REMAINING}{slo_matcher(slo)}"


def objective(slo: Slo) -> str:
    """Return the SLO's recorded objective."""
    return f"{rules_slo.OBJECTIVE}{slo_matcher(slo)}"


# --- other derived series ---------------------------------------------------------------------------


def egress_cost(cfg: Config, window: str, by: str = "region") -> str:
    """Return egress cost in USD over ``window``: each region's bytes times its price per GiB."""
    priced = sorted(r for r in cfg.egress.usd_per_gib if r != "default")
    grouping = f" by ({by})" if by else ""
    terms = []
    for region in priced:
        s = selector(catalog.LOG_EGRESS, ("region", "=", region))
        terms.append(f"sum{grouping} (increase({s}[{window}])) * {cfg.egress.price(region):g} / {GIB}")
    rest = [("region", "!~", "|".join(priced))] if priced else []
    s = selector(catalog.LOG_EGRESS, *rest)
    terms.append(f"sum{grouping} (increase({s}[{window}])) * {cfg.egress.price('default'):g} / {GIB}")
    if by:
        return "\nor\n".join(terms)
    return " + ".join(f"({t} or vector(0))" for t in terms)


GIB = 1024**3
