"""The retry rule in SQL equals a direct Python evaluation of docs/slis.md on random pull sequences."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from conftest import T0, add_requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regwatch import catalog
from regwatch.config import Config, SliConfig
from regwatch.slo import log_counters
from regwatch.store import Store

STATUSES = [200, 304, 500, 503, 429, 499, 404, 401]


def outcome(status: int) -> str:
    if 200 <= status <= 299 or status == 304:
        return "good"
    if status >= 500 or status in (429, 444, 499):
        return "bad"
    return "excluded"


def oracle(pulls: list[dict], retry_s: float) -> Counter:
    """(class, attempt) counts by the definition, one pull at a time."""
    out: Counter = Counter()
    order = sorted(range(len(pulls)), key=lambda i: (pulls[i]["ts"], pulls[i]["line"]))
    last: dict[tuple, tuple] = {}  # key -> (ts, outcome) of the previous good-or-bad pull
    for i in order:
        p = pulls[i]
        key = (p["client_ip"], p["repository"], p["reference"])
        cls = outcome(p["status"])
        prev = last.get(key) if None not in key else None
        retry = prev is not None and prev[1] == "bad" and (p["ts"] - prev[0]).total_seconds() <= retry_s
        out[(cls, "retry" if retry else "first")] += 1
        if cls != "excluded" and None not in key:
            last[key] = (p["ts"], cls)
    return out


pull = st.fixed_dictionaries(
    {
        "offset_ms": st.integers(0, 300_000),
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
         "line": i + 1}
        for i, p in enumerate(pulls)
    ]  # fmt: skip
    add_requests(store, rows)
    got = log_counters(store, Config(sli=SliConfig(retry_window_seconds=retry_s)))[catalog.LOG_PULLS.name]
    sql_counts: Counter = Counter()
    for _registry, _region, cls, attempt, value in got:
        sql_counts[(cls, attempt)] += value
    assert sql_counts == oracle(rows, retry_s)
