"""Error budgets, burn rates and the multi-window multi-burn-rate decision.

The decision reads ``catalog.BURN_POLICY``, the same table the alert-rules generator reads, so
``regwatch slo`` and the generated Prometheus alerts decide page / ticket identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from regwatch.catalog import BURN_POLICY, TIERS, BurnCondition

STATES: tuple[str, ...] = ("page", "ticket", "ok", "no_data")


def budget_fraction(objective: float) -> float:
    """The allowed bad share, ``1 - objective``, rounded to 12 places so 0.999 gives exactly 0.001."""
    return round(1.0 - objective, 12)


def error_ratio(good: int, bad: int) -> float | None:
    """bad / (good + bad); None when there are no events."""
    total = good + bad
    return bad / total if total > 0 else None


def sli_ratio(good: int, bad: int) -> float | None:
    """good / (good + bad); None when there are no events (never 100% of nothing)."""
    total = good + bad
    return good / total if total > 0 else None


def burn_rate(good: int, bad: int, objective: float) -> float | None:
    """Error ratio divided by the error budget fraction; None when there are no events."""
    ratio = error_ratio(good, bad)
    return None if ratio is None else ratio / budget_fraction(objective)


@dataclass(frozen=True)
class Budget:
    """An error budget over a window, in events."""

    total: float  # bad events allowed: (1 - objective) x events
    consumed: int  # bad events seen
    remaining: float  # total - consumed (negative when overspent)
    remaining_ratio: float | None  # remaining / total; None when there are no events


def error_budget(good: int, bad: int, objective: float) -> Budget:
    """The error budget of ``good + bad`` events at ``objective``."""
    total = budget_fraction(objective) * (good + bad)
    remaining = total - bad
    return Budget(total, bad, remaining, remaining / total if good + bad > 0 else None)


def condition_holds(
    cond: BurnCondition,
    burns: Mapping[str, float | None],
    events: Mapping[str, int],
    min_events: int = 0,
) -> bool:
    """Both windows' burn rates exceed the factor and the long window holds at least ``min_events`` events.

    This is the generated alert's expression (regwatch/rules/slo.py ``burn_alert``): ``ratio(long) /
    budget > factor and ratio(short) / budget > factor and events_increase(long) >= min_events``. The
    low-traffic guard reads the long window only: the short one just confirms the burn is still going
    on, and a guard on 5 minutes would keep a low-rate SLO (one probe a minute) from ever paging.
    A window without events has no burn rate (Prometheus sees 0/0 = NaN there), and NaN compares false.
    """
    long_burn, short_burn = burns.get(cond.long), burns.get(cond.short)
    return (
        long_burn is not None
        and long_burn > cond.factor
        and short_burn is not None
        and short_burn > cond.factor
        and events.get(cond.long, 0) >= min_events
    )


def needed_windows(*, page: bool = True, ticket: bool = True) -> tuple[str, ...]:
    """The burn windows the enabled tiers' conditions read, in policy order."""
    enabled = {"page": page, "ticket": ticket}
    out: list[str] = []
    for tier in TIERS:
        if enabled[tier]:
            for cond in BURN_POLICY[tier]:
                out += [w for w in (cond.long, cond.short) if w not in out]
    return tuple(out)


def decide_state(
    burns: Mapping[str, float | None],
    events: Mapping[str, int],
    *,
    page: bool = True,
    ticket: bool = True,
    min_events: int = 0,
    window_events: int | None = None,
) -> str:
    """Return page, ticket, ok or no_data.

    page when an enabled page condition holds; else ticket when an enabled ticket condition holds;
    else no_data when the SLO window (``window_events``) or any window an enabled tier reads holds
    no events; else ok. A disabled tier never gives its state.
    """
    enabled = {"page": page, "ticket": ticket}
    for tier in TIERS:
        if enabled[tier] and any(condition_holds(c, burns, events, min_events) for c in BURN_POLICY[tier]):
            return tier
    if window_events == 0 or any(events.get(w, 0) == 0 for w in needed_windows(page=page, ticket=ticket)):
        return "no_data"
    return "ok"
