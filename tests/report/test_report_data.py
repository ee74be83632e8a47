"""The report's figures on the hand-built fixture week, checked against values computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from report.fixture_data import GIB, MONDAY, WEEK

from regwatch.config import Config
from regwatch.errors import UsageError
from regwatch.report import build_report, data, range_period, render, week_period
from regwatch.report.data import Period
from regwatch.slo import compute_slis, evaluate_slo
from regwatch.store import Store, connect

US, EU = "main/us-east-1", "main/eu-west-1"


@pytest.fixture(scope="module")
def store(report_db: str) -> Store:
    s = connect(report_db, read_only=True)
    yield s  # type: ignore[misc]
    s.close()


@pytest.fixture(scope="module")
def report(store: Store, report_cfg: Config) -> dict:
    return build_report(store, report_cfg, week_period(WEEK))


def test_period_is_the_iso_week_and_the_one_before() -> None:
    p = week_period(WEEK)
    assert (p.start, p.end, p.label) == (MONDAY, MONDAY + timedelta(days=7), WEEK)
    assert (p.previous.start, p.previous.end) == (MONDAY - timedelta(days=7), MONDAY)
    assert [d for d, _ in p.days()] == [MONDAY + timedelta(days=i) for i in range(7)]


def test_bad_periods_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--week: not an ISO week"):
        week_period("2026-47")
    with pytest.raises(UsageError, match="--from must be before --to"):
        range_period(MONDAY, MONDAY)
    with pytest.raises(UsageError, match="longer than 93 days"):
        range_period(MONDAY, MONDAY + timedelta(days=94))


def test_custom_period_days_are_clipped() -> None:
    p = range_period(MONDAY + timedelta(hours=12), MONDAY + timedelta(days=1, hours=6))
    assert p.days() == [
        (MONDAY + timedelta(hours=12), MONDAY + timedelta(days=1)),
        (MONDAY + timedelta(days=1), MONDAY + timedelta(days=1, hours=6)),
    ]
    assert p.label == "2026-11-16 12:00Z to 2026-11-17 06:00Z"


def test_presence_counts_rows_in_the_half_open_period(report: dict) -> None:
    # 140 us good-pull rows + 40 bad + 72 eu rows (incl. the one at exactly the end) + 6 refused;
    # the previous week's row at exactly the start is not in it.
    assert report["presence"] == {"requests": 258, "probes": 21, "events": 2}
    assert report["has_data"] and report["has_logs"] and report["has_probes"]
    assert report["registries"] == ["main"]


def test_slo_table(report: dict) -> None:
    slos = {s["slo"]: s for s in report["slos"]}
    logs = slos["log-pull-success"]
    assert (logs["good"], logs["bad"]) == (106, 40)
    assert logs["sli_value"] == pytest.approx(106 / 146)
    assert logs["error_budget_remaining_ratio"] == pytest.approx((0.01 * 146 - 40) / (0.01 * 146))
    assert logs["previous_budget_remaining_ratio"] == 1.0  # 57 good pulls, no bad, in (11-09, 11-16]
    assert logs["budget_change"] == pytest.approx((0.01 * 146 - 40) / (0.01 * 146) - 1.0)
    assert logs["state"] == "ok"
    avail = slos["pull-availability"]
    assert (avail["good"], avail["bad"], avail["sli_value"]) == (20, 1, pytest.approx(20 / 21))
    assert avail["previous_budget_remaining_ratio"] is None and avail["budget_change"] is None
    latency = slos["pull-latency"]  # the unauthorized probe and the 2.5 s one are bad
    assert (latency["good"], latency["bad"]) == (19, 2)
    assert latency["error_budget_remaining_ratio"] == pytest.approx((0.05 * 21 - 2) / (0.05 * 21))


def test_incidents_are_the_page_burn_ranges(report: dict) -> None:
    # Wednesday: 10 good pulls at 10:00:00-09, 40 bad at 10:30:00 + 15 s x j, 5 good at 11:00:00-04.
    # Budget 0.01, min_events 10 on the long window (as the generated alerts guard it).
    # t = 10:30: 6h holds 10 good + 1 bad (11 >= 10), burn 9.1 > 6; 30m (10:00, 10:30] 9 good + 1 bad,
    #   burn 10 > 6: page. (1h/5m: 9.1 is not > 14.4.)
    # t = 10:31 .. 11:08: 6h burn > 6 with >= 10 events; 30m holds bad pulls (and at most 5 good), burn > 6.
    # t = 11:09: 30m (10:39, 11:09] holds 3 bad (10:39:15, :30, :45) + 5 good: burn 37.5 > 6; 6h 40 bad +
    #   15 good: page. (The short window holds only 8 events: its size does not matter.)
    # t = 11:10: 30m holds no bad pull, 5m no event at all: no page.
    # One incident (10:29, 11:09]: 40 paging minutes; its events are the 40 bad pulls and the 5 good at 11:00.
    wed = MONDAY + timedelta(days=2, hours=10)
    assert report["incidents"] == [
        {
            "slo": "log-pull-success", "sli": "pull_success", "source": "logs",
            "start": wed + timedelta(minutes=29), "end": wed + timedelta(minutes=69), "minutes": 40,
            "good": 5, "bad": 40,
            "top_codes": [{"code": "503", "count": 30}, {"code": "429", "count": 10}],
        },
    ]  # fmt: skip


def test_incidents_agree_with_the_slo_engine_minute_by_minute(
    report: dict, store: Store, report_cfg: Config
) -> None:
    slo = next(s for s in report_cfg.slos if s.name == "log-pull-success")
    paging = set()
    for inc in report["incidents"]:
        t = inc["start"] + timedelta(minutes=1)
        while t <= inc["end"]:
            paging.add(t)
            t += timedelta(minutes=1)
    t = MONDAY + timedelta(days=2, hours=10, minutes=20)
    while t <= MONDAY + timedelta(days=2, hours=11, minutes=15):
        state = evaluate_slo(store, report_cfg, slo, at=t).state
        assert (state == "page") == (t in paging), (t, state)
        t += timedelta(minutes=1)


def test_daily_logs_per_region(report: dict) -> None:
    block = report["daily"]["logs"]
    assert block["regions"] == [US, EU]  # config order
    us = [block["cells"][(US, i)] for i in range(7)]
    eu = [block["cells"][(EU, i)] for i in range(7)]
    assert [c["pull_success_ratio"] for c in us] == [1.0, 1.0, 0.2, 1.0, 1.0, 1.0, 1.0]
    assert [(c["pulls_good"], c["pulls_bad"]) for c in us][2] == (10, 40)
    assert [c["manifest_latency_p95_seconds"] for c in us] == [pytest.approx(0.955)] * 7
    assert [c["pulls_good"] for c in eu] == [5, 5, 5, 5, 5, 5, 6]  # Sunday has the pull at exactly 00:00
    assert [c["manifest_latency_p95_seconds"] for c in eu] == [pytest.approx(0.2)] * 7
    assert [c["auth_failures"] for c in us] == [0, 0, 2, 0, 0, 0, 0]
    assert [c["auth_failures"] for c in eu] == [3, 0, 0, 0, 1, 0, 0]


def test_daily_probes_per_region(report: dict) -> None:
    block = report["daily"]["probes"]
    assert [block["cells"][(US, i)]["pull_success_ratio"] for i in range(7)] == [1, 1, 1, 0.5, 1, 1, 1]
    assert [block["cells"][(EU, i)]["manifest_latency_p95_seconds"] for i in range(7)] == [
        pytest.approx(0.08)
    ] * 7


def test_egress_and_cost_with_week_over_week_change(report: dict) -> None:
    us, eu = report["egress"]["regions"]
    assert (us["region"], us["pulls"], us["egress_bytes"], us["egress_bytes_per_pull"]) == (
        US,
        70,
        70 * GIB,
        GIB,
    )
    assert us["egress_cost_usd"] == pytest.approx(70 * 0.09)
    assert us["previous_egress_bytes"] == 57 * GIB
    assert us["egress_change"] == pytest.approx(70 / 57 - 1)
    assert us["egress_per_pull_change"] == 0.0
    assert us["cost_change"] == pytest.approx(70 / 57 - 1)
    assert (eu["region"], eu["pulls"], eu["egress_bytes"], eu["egress_bytes_per_pull"]) == (
        EU,
        36,
        18 * GIB,
        GIB / 2,
    )
    assert eu["egress_cost_usd"] == pytest.approx(18 * 0.085)
    assert eu["previous_egress_bytes"] is None and eu["egress_change"] is None
    total = report["egress"]["total"]
    assert (total["pulls"], total["egress_bytes"], total["previous_egress_bytes"]) == (
        106,
        88 * GIB,
        57 * GIB,
    )
    assert total["egress_cost_usd"] == pytest.approx(70 * 0.09 + 18 * 0.085)


def test_top_repositories(report: dict) -> None:
    top = report["top_repositories"]
    assert [(r["repository"], r["egress_bytes"]) for r in top["egress"]] == [
        ("platform/base", 70 * GIB),
        ("team/app", 18 * GIB),
    ]
    assert [(r["repository"], r["pulls_bad"], r["pulls_good"]) for r in top["failures"]] == [
        ("platform/base", 40, 70)
    ]


def test_probe_coverage_shows_ratios_and_gaps(report: dict) -> None:
    cov = report["probe_coverage"]
    assert cov["regions"] == [US, EU] and cov["auth_paths"] == ["anonymous", "ci-robot"]
    cells = {
        k: (c["probes"], c["good"], c["success_ratio"], c["top_reason"]) for k, c in cov["cells"].items()
    }
    assert cells == {
        (US, "anonymous"): (7, 7, 1.0, None),
        (US, "ci-robot"): (7, 6, pytest.approx(6 / 7), "unauthorized"),
        (EU, "anonymous"): (7, 7, 1.0, None),
    }
    assert (EU, "ci-robot") in cov["configured"]


def test_a_period_without_data_says_so(store: Store, report_cfg: Config) -> None:
    empty = build_report(store, report_cfg, week_period("2026-W40"))
    assert not empty["has_data"]
    md = render(empty, "md")
    assert "**No data for this period:** the store holds no registry log requests and no probe results" in md
    assert "## SLOs" not in md
    html = render(empty, "html")
    assert '<p class="nodata">No data for this period' in html and "<svg" not in html


def test_probes_only_period_has_no_log_sections(store: Store, report_cfg: Config) -> None:
    # 12:00 on Monday: one probe round and no request
    p = Period(
        MONDAY + timedelta(hours=11, minutes=59), MONDAY + timedelta(hours=12, minutes=1), "probes only"
    )
    rep = build_report(store, report_cfg, p)
    assert rep["has_probes"] and not rep["has_logs"]
    assert rep["egress"] is None and rep["top_repositories"] is None and list(rep["daily"]) == ["probes"]
    md = render(rep, "md")
    assert "No registry log data in this period: egress and cost need ingested logs." in md


def test_rendering_is_deterministic(report: dict) -> None:
    assert render(report, "html") == render(report, "html")
    assert datetime.now().strftime("%Y-%m-%d %H:%M") not in render(report, "md")


def test_classifying_once_gives_the_same_figures(store: Store, report_cfg: Config, report: dict) -> None:
    # Every engine call the report makes, without the retry set computed once: the same figures.
    period = week_period(WEEK)
    assert data.slo_table(store, report_cfg, period) == report["slos"]
    assert data.incidents(store, report_cfg, period) == report["incidents"]
    assert data.daily(store, report_cfg, period, "logs") == report["daily"]["logs"]
    assert data.egress(store, report_cfg, period, report["daily"]["logs"]) == report["egress"]
    # the retry set is dropped afterwards: only the engine's empty rw_no_retries is left
    assert store.fetchall("SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1") == [
        ("rw_no_retries",)
    ]


def test_per_day_slis_equal_one_call_per_day(store: Store, report_cfg: Config, report: dict) -> None:
    # One grouped compute_slis(per_day=True) call gives what a compute_slis call per day gives.
    period = week_period(WEEK)
    for source in ("logs", "probes"):
        cells = report["daily"][source]["cells"]
        for i, (lo, hi) in enumerate(period.days()):
            for row in compute_slis(store, report_cfg, start=lo, end=hi, by="region", source=source):
                assert cells[(f"{row['registry']}/{row['region']}", i)] == row
        assert len(cells) == 14


def test_a_clipped_period_counts_each_request_in_its_day(store: Store, report_cfg: Config) -> None:
    # (Wed 10:30:07, Thu 10:00:05]: Wednesday holds the bad pulls after 10:30:07 and the 5 eu pulls; Thursday
    # the us pulls at 10:00:00-05 (6) and nothing of eu (11:00 is after the end).
    p = range_period(
        MONDAY + timedelta(days=2, hours=10, minutes=30, seconds=7),
        MONDAY + timedelta(days=3, hours=10, seconds=5),
    )
    block = data.daily(store, report_cfg, p, "logs")
    cells = {(name, i): (c["pulls_good"], c["pulls_bad"]) for (name, i), c in block["cells"].items()}
    assert cells == {(US, 0): (0, 39), (EU, 0): (5, 0), (US, 1): (6, 0)}
