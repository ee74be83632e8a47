"""The retry rule in SQL equals a direct Python evaluation of docs/slis.md on random pull sequences."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slo.slo_data import T0, add_requests

from regwatch import catalog
from regwatch.config import Config, SliConfig
from regwatch.slo import classified, compute_slis, log_counters
from regwatch.slo._sql import install_macros
from regwatch.slo.windows import ALL_TIME_END, ALL_TIME_START, microseconds
from regwatch.store import Store

STATUSES = [200, 304, 500, 503, 429, 499, 404, 401]


def outcome(status: int) -> str:
    if 200 <= status <= 299 or status == 304:
        return "good"
    if status >= 500 or status in (429, 444, 499):
        return "bad"
    return "excluded"


def oracle(pulls: list[dict], retry_s: float) -> dict[tuple[str, int], str]:
    """The attempt of every pull ((source, line) -> first | retry) by the definition, one pull at a time."""
    out: dict[tuple[str, int], str] = {}
    order = sorted(range(len(pulls)), key=lambda i: (pulls[i]["ts"], pulls[i]["source"], pulls[i]["line"]))
    last: dict[tuple, tuple] = {}  # key -> (ts, outcome) of the previous good-or-bad pull
    for i in order:
        p = pulls[i]
        key = (p["client_ip"], p["repository"], p["reference"])
        cls = outcome(p["status"])
        prev = last.get(key) if None not in key else None
        retry = prev is not None and prev[1] == "bad" and (p["ts"] - prev[0]).total_seconds() <= retry_s
        out[(p["source"], p["line"])] = "retry" if retry else "first"
        if cls != "excluded" and None not in key:
            last[key] = (p["ts"], cls)
    return out


pull = st.fixed_dictionaries(
    {
        # whole seconds often, so pulls share timestamps and exact window edges come up
        "offset_ms": st.one_of(st.integers(0, 300_000), st.integers(0, 300).map(lambda s: s * 1000)),
        "source": st.sampled_from(["a.log", "b.log"]),
        "client_ip": st.sampled_from(["10.0.0.1", "10.0.0.2", None]),
        "repository": st.sampled_from(["a/app", "b/lib"]),
        "reference": st.sampled_from(["v1", "v2"]),
        "status": st.sampled_from(STATUSES),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pulls=st.lists(pull, max_size=30), retry_s=st.sampled_from([1.0, 10.0, 60.0]))
def test_sql_retry_rule_equals_the_definition(store: Store, pulls: list[dict], retry_s: float) -> None:
    store.execute("DELETE FROM requests")
    rows = [
        {**{k: v for k, v in p.items() if k != "offset_ms"}, "ts": T0 + timedelta(milliseconds=p["offset_ms"]),
         "line": 100 - i}  # lines against insertion order: the order must come from (ts, source, line)
        for i, p in enumerate(pulls)
    ]  # fmt: skip
    add_requests(store, rows)
    want = oracle(rows, retry_s)
    cfg = Config(sli=SliConfig(retry_window_seconds=retry_s))
    # every pull's attempt, from the macro the queries and the exporter use
    install_macros(store)
    got = store.fetchall(
        "SELECT source, line, attempt FROM rw_requests($lookback, $lo, $hi, $retry_us) WHERE kind = 'pull'",
        {
            "lookback": ALL_TIME_START,
            "lo": ALL_TIME_START,
            "hi": ALL_TIME_END,
            "retry_us": microseconds(retry_s),
        },
    )
    assert {(s, line): a for s, line, a in got} == want
    # the exporter's counters
    counted = log_counters(store, cfg)[catalog.LOG_PULLS.name]
    sql_counts: Counter = Counter()
    for _registry, _region, cls, attempt, value in counted:
        sql_counts[(cls, attempt)] += value
    assert sql_counts == Counter((outcome(r["status"]), want[(r["source"], r["line"])]) for r in rows)
    # a range starting mid-sequence sees retries of pulls made before it (the lookback), and a retry set
    # computed once for a wider range gives the same figures
    lo, hi = T0 + timedelta(seconds=150), T0 + timedelta(seconds=301)
    inside = [r for r in rows if lo < r["ts"] <= hi and outcome(r["status"]) != "excluded"]
    firsts = [r for r in inside if want[(r["source"], r["line"])] == "first"]
    ratio = sum(outcome(r["status"]) == "good" for r in firsts) / len(firsts) if firsts else None
    (alone,) = compute_slis(store, cfg, start=lo, end=hi)
    with classified(store, cfg, T0 - timedelta(seconds=1), hi) as data:
        (shared,) = compute_slis(store, cfg, start=lo, end=hi, data=data)
    assert alone["first_attempt_success_ratio"] == shared["first_attempt_success_ratio"] == ratio
