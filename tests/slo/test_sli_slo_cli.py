"""`regwatch sli` and `regwatch slo` end to end: a real store file, the real CLI, exact output."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from slo.slo_data import LOG_ROWS, T0, add_probes, add_requests

from regwatch.cli import cli
from regwatch.slo import SLI_FIELDS
from regwatch.store import connect

CONFIG = """\
store: {{path: {db}}}
slos:
  - {{name: probe-pulls, sli: pull_success, source: probes, objective: 0.99, window: 30d}}
  - {{name: log-pulls, sli: pull_success, source: logs, objective: 0.99, window: 1d, alerting: {{min_events: 1}}}}
egress:
  usd_per_gib: {{default: 0.09, eu: 0.085}}
"""


@pytest.fixture
def cfg_path(tmp_path: Path) -> str:
    db = tmp_path / "regwatch.duckdb"
    with connect(str(db)) as store:
        add_requests(store, LOG_ROWS)
    path = tmp_path / "regwatch.yaml"
    path.write_text(CONFIG.format(db=db), encoding="utf-8")
    return str(path)


def run(cfg_path: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", cfg_path, *args])
    return result.exit_code, result.stdout, result.stderr


def test_sli_json_has_exactly_the_keys(cfg_path: str) -> None:
    code, out, _ = run(cfg_path, "sli", "--from", "2026-03-01T11:00:00Z", "--to", "2026-03-01T13:00:00Z",
                       "--by", "region", "--json")  # fmt: skip
    assert code == 0
    rows = json.loads(out)
    assert [list(r) for r in rows] == [["registry", "region", *SLI_FIELDS]] * 2
    assert [(r["region"], r["pulls_good"], r["pull_success_ratio"]) for r in rows] == [
        ("eu", 1, 1.0),
        ("us", 4, 4 / 7),
    ]


def test_sli_table_for_people(cfg_path: str) -> None:
    code, out, _ = run(cfg_path, "sli", "--from", "2026-03-01T11:00:00Z", "--to", "2026-03-01T13:00:00Z")
    assert code == 0
    assert out.splitlines() == [
        "SLIs from logs, 2026-03-01T11:00:00Z < t <= 2026-03-01T13:00:00Z",
        "GOOD  BAD  EXCLUDED  SUCCESS  FIRST_TRY  P50     P95     P99     AUTH_FAIL    EGRESS     PER_PULL  "
        "COST_USD  CACHE_HIT  PUSH",
        "5     3    3         62.500%  50.000%    0.300s  0.880s  0.976s  3 (15.789%)  14.16 KiB  2.83 KiB  "
        "0.0000    33.333%    50.000%",
    ]


def test_sli_default_range_is_the_last_24_hours(cfg_path: str) -> None:
    # The fixture is in March 2026; relative to the real now it is far outside the default range.
    code, out, _ = run(cfg_path, "sli", "--json")
    assert code == 0
    assert json.loads(out)[0]["pulls_good"] == 0
    code, out, _ = run(cfg_path, "sli", "--to", "2026-03-02T11:59:00Z", "--json")
    assert json.loads(out)[0]["pulls_good"] == 5  # from 2026-03-01T11:59:00Z


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "auth_path"], "regwatch: error: --by auth_path needs --source probes: registry logs carry no auth path\n"),
        (["--from", "2026-03-02", "--to", "2026-03-01"], "regwatch: error: --from 2026-03-02T00:00:00+00:00 must be "
         "before --to 2026-03-01T00:00:00+00:00\n"),
    ],
)  # fmt: skip
def test_sli_usage_errors_exit_2(cfg_path: str, args: list[str], message: str) -> None:
    code, out, err = run(cfg_path, "sli", *args)
    assert (code, out, err) == (2, "", message)


def test_sli_needs_an_existing_store(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {{path: {tmp_path / 'none.duckdb'}}}\n", encoding="utf-8")
    code, _, err = run(str(cfg), "sli")
    assert code == 1
    assert "no store here yet" in err
    assert not (tmp_path / "none.duckdb").exists()  # read-only: never created


def test_slo_json_and_exit_codes(cfg_path: str) -> None:
    code, out, err = run(cfg_path, "slo", "--at", "2026-03-01T12:05:00Z", "--json")
    statuses = json.loads(out)
    assert [list(s) for s in statuses] == [[
        "slo", "sli", "source", "objective", "window", "sli_value", "good", "bad", "error_budget_total",
        "error_budget_consumed", "error_budget_remaining", "error_budget_remaining_ratio", "burn_rates", "state",
    ]] * 2  # fmt: skip
    probe, logs = statuses
    assert (probe["state"], probe["sli_value"], probe["burn_rates"]["5m"]) == ("no_data", None, None)
    assert (logs["good"], logs["bad"], logs["state"]) == (5, 3, "page")
    # pull #1 at 12:00:00 is out of the 5m window (12:00:00, 12:05:00]; the 1h window holds it
    assert logs["burn_rates"]["5m"] == pytest.approx((3 / 7) / 0.01)
    assert logs["burn_rates"]["1h"] == pytest.approx((3 / 8) / 0.01)
    assert code == 1
    assert err == "regwatch: 1 SLO(s) in state page: log-pulls\n"
    assert run(cfg_path, "slo", "--at", "2026-03-01T12:05:00Z", "--fail-on", "never")[0] == 0


def test_slo_no_data_never_fails(cfg_path: str) -> None:
    code, out, _ = run(cfg_path, "slo", "--at", "2027-01-01T00:00:00Z", "--fail-on", "ticket")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "SLOs at 2027-01-01T00:00:00Z"
    assert lines[1].split() == [
        "SLO", "SLI", "SOURCE", "OBJECTIVE", "WINDOW", "SLI_VALUE", "GOOD", "BAD", "BUDGET_LEFT", "BAD/ALLOWED",
        "BURN_5M", "BURN_30M", "BURN_1H", "BURN_2H", "BURN_6H", "BURN_1D", "BURN_3D", "STATE",
    ]  # fmt: skip
    assert lines[2].split() == [
        "probe-pulls", "pull_success", "probes", "99.000%", "30d", "-", "0", "0", "-", "0/0", *["-"] * 7, "no_data",
    ]  # fmt: skip


def test_slo_table_with_probe_data(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with connect(str(db)) as store:
        add_probes(store, [{"ts": T0 - timedelta(seconds=s), "result": "success" if s % 4 else "failure"}
                           for s in range(40)])  # fmt: skip
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"store: {{path: {db}}}\nslos:\n  - {{name: p, sli: pull_success, source: probes, objective: 0.9}}\n",
        encoding="utf-8",
    )
    code, out, _ = run(str(cfg), "slo", "--at", "2026-03-01T12:00:00Z")
    assert code == 0
    assert out.splitlines()[2].split() == [
        "p", "pull_success", "probes", "90.000%", "30d", "75.000%", "30", "10", "-150.000%", "10/4",
        *["2.50"] * 7, "ticket",
    ]  # fmt: skip


def test_slo_without_slos(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    connect(str(db)).close()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {{path: {db}}}\n", encoding="utf-8")
    assert run(str(cfg), "slo", "--json")[:2] == (0, "[]\n")
