"""Property tests (hypothesis) for the window and burn-rate arithmetic and the state decision."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regwatch.catalog import BURN_POLICY, BURN_WINDOWS
from regwatch.config import parse_config
from regwatch.slo import evaluate_slos
from regwatch.slo.burn import (
    budget_fraction,
    burn_rate,
    decide_state,
    error_budget,
    error_ratio,
    needed_windows,
    sli_ratio,
)
from regwatch.slo.windows import burn_window_seconds, count_in_windows, in_window, window_starts
from regwatch.store import Store

objectives = st.floats(min_value=0.5, max_value=0.99999, allow_nan=False)
counts = st.integers(min_value=0, max_value=10**9)


@given(good=counts, bad=counts, objective=objectives)
def test_burn_is_error_ratio_over_budget(good: int, bad: int, objective: float) -> None:
    burn = burn_rate(good, bad, objective)
    if good + bad == 0:
        assert burn is None and sli_ratio(good, bad) is None and error_ratio(good, bad) is None
        return
    assert burn == (bad / (good + bad)) / budget_fraction(objective)
    assert budget_fraction(objective) == pytest.approx(1 - objective, abs=1e-12)
    assert sli_ratio(good, bad) + error_ratio(good, bad) == pytest.approx(1.0)  # type: ignore[operator]
    budget = error_budget(good, bad, objective)
    # remaining ratio = 1 - burn over the window
    assert budget.remaining_ratio == pytest.approx(1 - burn, rel=1e-9, abs=1e-9)
    assert budget.consumed == bad


@given(good=counts, bad=counts, more=st.integers(min_value=1, max_value=10**6), objective=objectives)
def test_burn_is_monotonic(good: int, bad: int, more: int, objective: float) -> None:
    # One more bad event (or one fewer good) never lowers the burn; a stricter objective never lowers it.
    if good + bad == 0:
        return
    b = burn_rate(good, bad, objective)
    assert b is not None
    assert burn_rate(good, bad + more, objective) >= b  # type: ignore[operator]
    if good >= more and good - more + bad > 0:
        assert burn_rate(good - more, bad, objective) >= b  # type: ignore[operator]
    assert burn_rate(good, bad, min(objective + (1 - objective) / 2, 0.999999)) >= b  # type: ignore[operator]


def oracle_state(burns: dict[str, float | None], events: dict[str, int], page: bool, ticket: bool, min_events: int,
                 window_events: int) -> str:  # fmt: skip
    """The issue's statement, written out literally (not via BURN_POLICY)."""

    def over(w: str, f: float) -> bool:
        b = burns[w]
        return b is not None and b > f and events[w] >= min_events

    if page and ((over("1h", 14.4) and over("5m", 14.4)) or (over("6h", 6) and over("30m", 6))):
        return "page"
    if ticket and ((over("1d", 3) and over("2h", 3)) or (over("3d", 1) and over("6h", 1))):
        return "ticket"
    needed = (["1h", "5m", "6h", "30m"] if page else []) + (["1d", "2h", "3d", "6h"] if ticket else [])
    if window_events == 0 or any(events[w] == 0 for w in needed):
        return "no_data"
    return "ok"


burn_values = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 3.0, 6.0, 14.4]), st.floats(0, 50))


@given(
    burns=st.fixed_dictionaries({w: burn_values for w in BURN_WINDOWS}),
    events=st.fixed_dictionaries({w: st.integers(0, 30) for w in BURN_WINDOWS}),
    page=st.booleans(),
    ticket=st.booleans(),
    min_events=st.integers(0, 20),
    window_events=st.integers(0, 5),
)
def test_state_equals_a_direct_evaluation_of_the_policy(
    burns: dict[str, float | None], events: dict[str, int], page: bool, ticket: bool, min_events: int,
    window_events: int,
) -> None:  # fmt: skip
    # a window without events has no burn rate
    burns = {w: (None if events[w] == 0 else b) for w, b in burns.items()}
    got = decide_state(
        burns, events, page=page, ticket=ticket, min_events=min_events, window_events=window_events
    )
    assert got == oracle_state(burns, events, page, ticket, min_events, window_events)


def test_policy_is_the_issue_policy() -> None:
    assert {t: [(c.long, c.short, c.factor) for c in cs] for t, cs in BURN_POLICY.items()} == {
        "page": [("1h", "5m", 14.4), ("6h", "30m", 6.0)],
        "ticket": [("1d", "2h", 3.0), ("3d", "6h", 1.0)],
    }
    assert needed_windows(page=True, ticket=False) == ("1h", "5m", "6h", "30m")


def test_exact_threshold_is_not_over() -> None:
    # "exceed" is strict, as Prometheus' `>`: a burn of exactly 14.4 (or 6) does not page.
    burns: dict[str, float | None] = {**dict.fromkeys(BURN_WINDOWS, 1.0), "1h": 14.4, "5m": 14.4}
    assert burn_rate(999, 1, 0.999) == 1.0  # the budget fraction is 0.001 exactly, not 0.0010000000000000009
    assert decide_state(burns, dict.fromkeys(BURN_WINDOWS, 10000), window_events=10000) == "ok"


AT = datetime(2026, 3, 1, 12, 0, 0)
span = 4 * 86400  # events up to 4 days back (beyond the 3d window) and a little after AT


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(st.tuples(st.integers(-600, span), st.booleans()), min_size=0, max_size=25),
    boundaries=st.lists(st.sampled_from(list(burn_window_seconds().values())), max_size=4),
)
def test_sql_windows_equal_direct_counts(
    store: Store, events: list[tuple[int, bool]], boundaries: list[float]
) -> None:
    # Events placed anywhere, plus some exactly on window boundaries: the SQL agrees with a direct count.
    rows = [(AT - timedelta(seconds=age), good) for age, good in events]
    rows += [(AT - timedelta(seconds=b), False) for b in boundaries]
    store.execute("DELETE FROM probe_results")
    if rows:
        store.conn.executemany(
            "INSERT INTO probe_results (ts, kind, registry, region, auth_path, canary, repository, reference, "
            "result, duration_s) VALUES (?, 'pull', 'main', 'us', 'anonymous', 'c:v1', 'c', 'v1', ?, 0.1)",
            [[ts, "success" if good else "failure"] for ts, good in rows],
        )
    cfg = parse_config(
        "slos:\n  - {name: a, sli: pull_success, source: probes, objective: 0.99, window: 2d}", "t.yaml"
    )
    (st_,) = evaluate_slos(store, cfg, at=AT)
    lengths = {"slo": 2 * 86400.0, **burn_window_seconds()}
    direct = count_in_windows(rows, AT, lengths)
    assert (st_.good, st_.bad) == direct["slo"]
    assert st_.window_events == {w: sum(direct[w]) for w in BURN_WINDOWS}
    assert st_.burn_rates == {w: burn_rate(*direct[w], 0.99) for w in BURN_WINDOWS}


@given(
    ts=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 1)),
    secs=st.floats(min_value=1, max_value=90 * 86400),
)
def test_window_bounds_are_half_open(ts: datetime, secs: float) -> None:
    lo = window_starts(ts, {"w": secs})["w"]
    assert in_window(ts, lo, ts)  # the end is in
    assert not in_window(lo, lo, ts)  # the start is out
    assert lo == ts - timedelta(seconds=secs)
