"""Evaluate every configured SLO at a point in time: SLI, error budget, burn rates and state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from regwatch.catalog import BURN_WINDOWS
from regwatch.config import Config, Slo
from regwatch.slo._sql import install_macros, run
from regwatch.slo.burn import burn_rate, decide_state, error_budget, sli_ratio
from regwatch.slo.windows import burn_window_seconds, lookback, microseconds, naive_utc, window_starts
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


def window_counts(store: Store, cfg: Config, slo: Slo, *, at: datetime) -> dict[str, tuple[int, int]]:
    """(good, bad) events of ``slo`` in its own window (key ``"slo"``) and in every burn window."""
    lengths = {SLO_WINDOW: slo.window_seconds, **burn_window_seconds()}
    starts = window_starts(at, lengths)
    end = naive_utc(at)
    lo = min(starts.values())
    params: dict[str, Any] = {
        "window_names": list(starts),
        "window_starts": list(starts.values()),
        "lo": lo,
        "at": end,
        "registry": slo.filters.registry,
        "region": slo.filters.region,
        "repository": slo.filters.repository,
    }
    install_macros(store)
    if slo.source == "logs" and slo.sli == "first_attempt_success":
        retry = cfg.sli.retry_window_seconds
        params.update(lookback=lookback(lo, retry), retry_us=microseconds(retry))
        rows = run(store, "slo_logs_first_attempt.sql", params)
    elif slo.source == "logs":
        params["kind"] = "push" if slo.sli == "push_success" else "pull"
        rows = run(store, "slo_logs.sql", params)
    else:
        params.update(sli=slo.sli, threshold=slo.threshold_seconds)
        rows = run(store, "slo_probes.sql", params)
    return {r["name"]: (int(r["good"]), int(r["bad"])) for r in rows}


def evaluate_slo(store: Store, cfg: Config, slo: Slo, *, at: datetime) -> SloStatus:
    """Evaluate one SLO at ``at`` (windows are (at - length, at])."""
    counts = window_counts(store, cfg, slo, at=at)
    good, bad = counts[SLO_WINDOW]
    budget = error_budget(good, bad, slo.objective)
    burns = {w: burn_rate(*counts[w], slo.objective) for w in BURN_WINDOWS}
    events = {w: sum(counts[w]) for w in BURN_WINDOWS}
    min_events = slo.alerting.min_events
    state = decide_state(
        burns,
        events,
        page=slo.alerting.page,
        ticket=slo.alerting.ticket,
        min_events=cfg.alerting.min_events if min_events is None else min_events,
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


def evaluate_slos(store: Store, cfg: Config, *, at: datetime) -> list[SloStatus]:
    """Evaluate every SLO of the config at ``at``, in config order."""
    return [evaluate_slo(store, cfg, slo, at=at) for slo in cfg.slos]
