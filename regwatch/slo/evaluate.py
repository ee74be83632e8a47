"""Evaluate every configured SLO at a point in time: SLI, error budget, burn rates and state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from regwatch.catalog import BURN_WINDOWS
from regwatch.config import Config, Slo
from regwatch.slo._sql import install_macros, run
from regwatch.slo.burn import burn_rate, decide_state, error_budget, sli_ratio
from regwatch.slo.classified import NO_RETRIES, ClassifiedRequests, classified, retry_set
from regwatch.slo.windows import burn_window_seconds, microseconds, naive_utc, window_starts
from regwatch.store import Store

#: Name of the SLO's own window among the burn windows in a query (not a Prometheus duration).
SLO_WINDOW = "slo"


@dataclass(frozen=True)
class SloStatus:
    """One SLO evaluated at ``at``; ``to_dict()`` is an object of ``regwatch slo --json``."""

    slo: str
    sli: str
    source: str
    objective: float
    window: str
    at: datetime
    sli_value: float | None
    good: int
    bad: int
    error_budget_total: float
    error_budget_consumed: int
    error_budget_remaining: float
    error_budget_remaining_ratio: float | None
    burn_rates: dict[str, float | None]
    state: str
    #: Events (good + bad) in each burn window, for the low-traffic guard and for people debugging.
    window_events: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``regwatch slo --json``."""
        return {
            "slo": self.slo,
            "sli": self.sli,
            "source": self.source,
            "objective": self.objective,
            "window": self.window,
            "sli_value": self.sli_value,
            "good": self.good,
            "bad": self.bad,
            "error_budget_total": self.error_budget_total,
            "error_budget_consumed": self.error_budget_consumed,
            "error_budget_remaining": self.error_budget_remaining,
            "error_budget_remaining_ratio": self.error_budget_remaining_ratio,
            "burn_rates": dict(self.burn_rates),
            "state": self.state,
        }


def min_events(cfg: Config, slo: Slo) -> int:
    """The SLO's low-traffic guard: its own ``alerting.min_events``, else the global one.

    Spelled as the rules generator spells it (``regwatch/rules/spec.py``), so an SLO's guard is the
    same number in ``regwatch slo``, the report and the generated alerts.
    """
    return slo.alerting.min_events or cfg.alerting.min_events


def event_params(slo: Slo) -> dict[str, Any]:
    """Bound parameters selecting an SLO's events (rw_slo_log_events / rw_slo_probe_events)."""
    logs = slo.source == "logs"
    return {
        "source": slo.source,
        "kind": ("push" if slo.sli == "push_success" else "pull") if logs else None,
        "first_only": needs_retries(slo),
        "sli": slo.sli,
        "threshold": slo.threshold_seconds,
        "registry": slo.filters.registry,
        "region": slo.filters.region,
        "repository": slo.filters.repository,
    }


def needs_retries(slo: Slo) -> bool:
    """Whether the SLO's events depend on the retry rule (log-based first-attempt success)."""
    return slo.source == "logs" and slo.sli == "first_attempt_success"


def slo_window_seconds(slo: Slo) -> dict[str, float]:
    """The SLO's own window (key ``"slo"``) and every burn window, in seconds."""
    return {SLO_WINDOW: slo.window_seconds, **burn_window_seconds()}


def slo_range(slo: Slo, at: datetime) -> tuple[datetime, datetime]:
    """The range ``(lo, at]`` of events ``slo`` reads at ``at``: its own window and every burn window."""
    return min(window_starts(at, slo_window_seconds(slo)).values()), naive_utc(at)


def window_counts(
    store: Store, cfg: Config, slo: Slo, *, at: datetime, data: ClassifiedRequests | None = None
) -> dict[str, tuple[int, int]]:
    """(good, bad) events of ``slo`` in its own window (key ``"slo"``) and in every burn window."""
    lengths = {name: microseconds(secs) for name, secs in slo_window_seconds(slo).items()}
    grain = math.gcd(*lengths.values())
    lo, end = slo_range(slo, at)
    params: dict[str, Any] = {
        "window_names": list(lengths),
        "window_buckets": [length // grain for length in lengths.values()],
        "grain_us": grain,
        "lo": lo,
        "at": end,
        **event_params(slo),
    }
    install_macros(store)
    if needs_retries(slo):
        with retry_set(store, cfg, lo, end, data) as retries:
            rows = run(store, "slo_windows.sql", {**params, "retries": retries})
    else:
        rows = run(store, "slo_windows.sql", {**params, "retries": NO_RETRIES})
    return {r["name"]: (int(r["good"]), int(r["bad"])) for r in rows}


def evaluate_slo(
    store: Store, cfg: Config, slo: Slo, *, at: datetime, data: ClassifiedRequests | None = None
) -> SloStatus:
    """Evaluate one SLO at ``at`` (windows are (at - length, at]); ``data`` as for ``evaluate_slos``."""
    counts = window_counts(store, cfg, slo, at=at, data=data)
    good, bad = counts[SLO_WINDOW]
    budget = error_budget(good, bad, slo.objective)
    burns = {w: burn_rate(*counts[w], slo.objective) for w in BURN_WINDOWS}
    events = {w: sum(counts[w]) for w in BURN_WINDOWS}
    state = decide_state(
        burns,
        events,
        page=slo.alerting.page,
        ticket=slo.alerting.ticket,
        min_events=min_events(cfg, slo),
        window_events=good + bad,
    )
    return SloStatus(
        slo=slo.name,
        sli=slo.sli,
        source=slo.source,
        objective=slo.objective,
        window=slo.window,
        at=naive_utc(at),
        sli_value=sli_ratio(good, bad),
        good=good,
        bad=bad,
        error_budget_total=budget.total,
        error_budget_consumed=budget.consumed,
        error_budget_remaining=budget.remaining,
        error_budget_remaining_ratio=budget.remaining_ratio,
        burn_rates=burns,
        state=state,
        window_events=events,
    )


def evaluate_slos(
    store: Store, cfg: Config, *, at: datetime, data: ClassifiedRequests | None = None
) -> list[SloStatus]:
    """Evaluate every SLO of the config at ``at``, in config order.

    The retry rule (for log-based first-attempt SLOs) is computed once for all of them, or read from
    ``data`` (``regwatch.slo.classified``) when that covers their windows.
    """
    ranges = [slo_range(slo, at) for slo in cfg.slos if needs_retries(slo)]
    if not ranges or (
        data is not None and all(data.covers(store, *r, cfg.sli.retry_window_seconds) for r in ranges)
    ):
        return [evaluate_slo(store, cfg, slo, at=at, data=data) for slo in cfg.slos]
    with classified(store, cfg, min(lo for lo, _ in ranges), naive_utc(at)) as own:
        return [evaluate_slo(store, cfg, slo, at=at, data=own) for slo in cfg.slos]
