"""Property tests (hypothesis) for the window and burn-rate arithmetic and the state decision."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regwatch.catalog import BURN_POLICY, BURN_WINDOWS
from regwatch.config import parse_config
from regwatch.rules import slo as rules_slo
from regwatch.rules.spec import from_config
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
from regwatch.slo.evaluate import min_events
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
    """The issue's statement, written out literally (not via BURN_POLICY), with the generated alerts'
    low-traffic guard: the long window of a condition must hold at least min_events events."""

    def over(long: str, short: str, f: float) -> bool:
        bl, bs = burns[long], burns[short]
        return bl is not None and bl > f and bs is not None and bs > f and events[long] >= min_events

    if page and (over("1h", "5m", 14.4) or over("6h", "30m", 6)):
        return "page"
    if ticket and (over("1d", "2h", 3) or over("3d", "6h", 1)):
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


def test_the_guard_reads_the_long_window_only() -> None:
    # One canary a minute: 5 failed probes in the last 5m, 60 in the last hour. The 5m window holds
    # fewer than min_events (10), but the alert's guard is on the 1h window, so this pages.
    burns: dict[str, float | None] = {**dict.fromkeys(BURN_WINDOWS, 1000.0)}
    events = {"5m": 5, "30m": 30, "1h": 60, "2h": 120, "6h": 360, "1d": 1440, "3d": 4320}
    assert decide_state(burns, events, min_events=10, window_events=4320) == "page"
    # ... and a long window below the guard does not page, however hot the short one is
    events_low = {**events, "1h": 9, "6h": 9}
    assert decide_state(burns, events_low, min_events=10, window_events=4320, ticket=False) == "ok"


def test_the_engine_reads_the_generated_alert_expression() -> None:
    # The rules generator's alert for each condition, and the engine's decision, agree on what they
    # compare: the same budget number, strict `>` on both windows, `>=` min_events on the long one only.
    cfg = parse_config(
        "slos:\n"
        "  - {name: a, sli: pull_success, source: probes, objective: 0.999, window: 30d}\n"
        "  - {name: b, sli: pull_success, source: logs, objective: 0.995, window: 28d,"
        " alerting: {min_events: 3}}\n",
        "t.yaml",
    )
    for i, slo in enumerate(cfg.slos):
        spec = from_config(cfg, i)
        assert spec.min_events == min_events(cfg, slo)
        assert float(rules_slo.num(spec.budget)) == budget_fraction(slo.objective)
        for tier, conds in BURN_POLICY.items():
            for cond in conds:
                expr = rules_slo.burn_alert(spec, cfg.alerting, tier, cond).expr
                sel = f'{{slo="{slo.name}"}}'
                budget, factor = rules_slo.num(spec.budget), rules_slo.num(cond.factor)
                assert f"{rules_slo.error_ratio(cond.long)}{sel} / {budget} > {factor}" in expr
                assert f"{rules_slo.error_ratio(cond.short)}{sel} / {budget} > {factor}" in expr
                assert f"{rules_slo.events_increase(cond.long)}{sel} >= {spec.min_events}" in expr
                assert rules_slo.events_increase(cond.short) not in expr


@given(objective=objectives)
def test_the_budget_is_the_number_the_alerts_divide_by(objective: float) -> None:
    # the rules print round(1 - objective, 12) with 12 significant digits; Prometheus reads back the
    # very float the engine divides by
    assert float(rules_slo.num(round(1.0 - objective, 12))) == budget_fraction(objective)


def test_exact_threshold_is_not_over() -> None:
    # "exceed" is strict, as Prometheus' `>`: a burn of exactly 14.4 (or 6) does not page.
    burns: dict[str, float | None] = {**dict.fromkeys(BURN_WINDOWS, 1.0), "1h": 14.4, "5m": 14.4}
    assert burn_rate(999, 1, 0.999) == 1.0  # the budget fraction is 0.001 exactly, not 0.0010000000000000009
    assert decide_state(burns, dict.fromkeys(BURN_WINDOWS, 10000), window_events=10000) == "ok"


AT = datetime(2026, 3, 1, 12, 0, 0)
span = 4 * 86400  # events up to 4 days back (beyond the 3d window) and a little after AT


SLO_WINDOWS = {"2d": 2 * 86400.0, "90m": 5400.0, "36h": 129600.0, "7d": 7 * 86400.0}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(st.tuples(st.integers(-600_000, span * 1000), st.booleans()), min_size=0, max_size=25),
    boundaries=st.lists(st.sampled_from(list(burn_window_seconds().values())), max_size=4),
    window=st.sampled_from(list(SLO_WINDOWS)),
)
def test_sql_windows_equal_direct_counts(
    store: Store, events: list[tuple[int, bool]], boundaries: list[float], window: str
) -> None:
    # Events placed anywhere (to the millisecond), plus some exactly on window boundaries (the SLO
    # window's too, and a microsecond inside it): the SQL agrees with a direct count.
    rows = [(AT - timedelta(milliseconds=age), good) for age, good in events]
    rows += [(AT - timedelta(seconds=b), False) for b in [*boundaries, SLO_WINDOWS[window]]]
    rows += [(AT - timedelta(seconds=SLO_WINDOWS[window], microseconds=-1), True)]
    store.execute("DELETE FROM probe_results")
    store.conn.executemany(
        "INSERT INTO probe_results (ts, kind, registry, region, auth_path, canary, repository, reference, "
        "result, duration_s) VALUES (?, 'pull', 'main', 'us', 'anonymous', 'c:v1', 'c', 'v1', ?, 0.1)",
        [[ts, "success" if good else "failure"] for ts, good in rows],
    )
    cfg = parse_config(
        f"slos:\n  - {{name: a, sli: pull_success, source: probes, objective: 0.99, window: {window}}}",
        "t.yaml",
    )
    (st_,) = evaluate_slos(store, cfg, at=AT)
    lengths = {"slo": SLO_WINDOWS[window], **burn_window_seconds()}
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
