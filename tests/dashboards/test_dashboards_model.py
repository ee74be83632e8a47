"""The generated dashboards: JSON model sanity, SLO-derived thresholds, determinism, staleness, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from promql_vars import LABEL_VALUES, load_all, panels, substitute, targets

from regwatch import catalog
from regwatch.cli import cli
from regwatch.config import load_config, parse_config
from regwatch.dashboards import FILES, PROVISIONING, UIDS, generate_dashboards, regen

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "regwatch.yaml"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return generate_dashboards(load_config(EXAMPLE))


@pytest.fixture(scope="module")
def dashboards(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return load_all(files)


def _panel(d: dict[str, Any], title: str) -> dict[str, Any]:
    found = [p for p in panels(d) if p["title"] == title]
    assert len(found) == 1, (title, len(found))
    return found[0]


def _steps(p: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]]


# --- staleness ----------------------------------------------------------------------------------------


def test_checked_in_dashboards_are_fresh(files: dict[str, str]) -> None:
    out = ROOT / "dashboards"
    on_disk = {
        str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()
    }
    assert sorted(on_disk) == sorted(files), "dashboards/ holds other files than the generator writes"
    stale = [name for name, text in files.items() if on_disk[name] != text]
    assert not stale, f"dashboards/ is stale ({stale}): run `python -m regwatch.regen` (make regen)"


def test_generation_is_deterministic(files: dict[str, str]) -> None:
    assert generate_dashboards(load_config(EXAMPLE)) == files
    assert list(files) == sorted(files)
    assert sorted(files) == sorted([*FILES.values(), PROVISIONING])


def test_regen_writes_under_root(tmp_path: Path, files: dict[str, str]) -> None:
    written = regen(load_config(EXAMPLE), tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == sorted(f"dashboards/{f}" for f in files)
    for p in written:
        assert p.read_text() == files[str(p.relative_to(tmp_path / "dashboards"))]
    assert not list((tmp_path / "dashboards").rglob(".*.tmp"))


# --- JSON model ---------------------------------------------------------------------------------------


def test_model_basics(dashboards: dict[str, dict[str, Any]]) -> None:
    assert sorted(dashboards) == ["regwatch-debug.json", "regwatch-executive.json", "regwatch-oncall.json"]
    for kind, uid in UIDS.items():
        d = dashboards[f"{uid}.json"]
        assert d["uid"] == uid and len(uid) <= 40
        assert d["schemaVersion"] >= 39
        assert d["title"].startswith("regwatch / ")
        assert d["tags"] == ["regwatch", kind]
        assert d["description"]
        assert "id" not in d  # importable: Grafana assigns the numeric id
        links = {link["title"]: link["url"] for link in d["links"]}
        assert links["Runbooks"] == "https://github.com/regwatch/regwatch/blob/main/docs/runbooks.md"
        assert sorted(u for t, u in links.items() if t != "Runbooks") == sorted(
            f"/d/{u}" for k, u in UIDS.items() if k != kind
        )


def test_variables(dashboards: dict[str, dict[str, Any]]) -> None:
    for name, d in dashboards.items():
        variables = {v["name"]: v for v in d["templating"]["list"]}
        assert list(variables) == ["datasource", "registry", "region", "auth_path"], name
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        queries = {n: v["query"] for n, v in variables.items() if n != "datasource"}
        assert queries == {
            "registry": "label_values(regwatch_probe_pulls_total, registry)",
            "region": 'label_values(regwatch_probe_pulls_total{registry=~"$registry"}, region)',
            "auth_path": 'label_values(regwatch_probe_pulls_total{registry=~"$registry",region=~"$region"}, auth_path)',
        }
        for n in ("registry", "region", "auth_path"):
            v = variables[n]
            assert v["type"] == "query" and v["multi"] and v["includeAll"] and v["allValue"] == ".*"
            assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert LABEL_VALUES.match(v["query"])


def test_every_panel_is_complete(dashboards: dict[str, dict[str, Any]]) -> None:
    for name, d in dashboards.items():
        ids = [p["id"] for p in panels(d)]
        assert len(ids) == len(set(ids)), (name, ids)
        assert all(isinstance(i, int) and i > 0 for i in ids)
        for p in panels(d):
            assert p["title"], (name, p)
            if p["type"] == "row":
                continue
            assert p["description"], (name, p["title"])
            defaults = p["fieldConfig"]["defaults"]
            assert defaults["unit"], (name, p["title"])
            assert defaults["thresholds"]["steps"][0]["value"] is None, (name, p["title"])
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert p["targets"], (name, p["title"])
            refs = [t["refId"] for t in p["targets"]]
            assert refs == [chr(ord("A") + i) for i in range(len(refs))]
            for t in p["targets"]:
                assert t["expr"].strip() and t["datasource"]["uid"] == "${datasource}"


def test_grid_positions_do_not_overlap(dashboards: dict[str, dict[str, Any]]) -> None:
    for name, d in dashboards.items():
        cells: dict[tuple[int, int], str] = {}
        for p in d["panels"]:
            g = p["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0 and g["w"] > 0, (name, p["title"], g)
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{name}: {p['title']!r} overlaps {cells[(x, y)]!r}"
                    cells[(x, y)] = p["title"]


def test_metric_names_come_from_the_catalog_and_rules(dashboards: dict[str, dict[str, Any]]) -> None:
    # every identifier that looks like a regwatch metric is a catalogue name (or a histogram suffix of one)
    known = set(catalog.BY_NAME)
    for m in catalog.CATALOG:
        if m.type == "histogram":
            known |= {f"{m.name}_bucket", f"{m.name}_count", f"{m.name}_sum"}
    for name, d in dashboards.items():
        for p, t in targets(d):
            for ident in re.findall(r"\bregwatch_\w+", t["expr"]):
                assert ident in known, (name, p["title"], ident)
            for rec in re.findall(r"\bslo:\w+(?::\w+)?", t["expr"]):
                assert rec.startswith(("slo:sli_error:ratio_rate", "slo:objective:ratio",
                                       "slo:error_budget_remaining:ratio")), rec  # fmt: skip


def test_every_expression_substitutes_cleanly(dashboards: dict[str, dict[str, Any]]) -> None:
    values = {"registry": "main", "region": "us-east-1", "auth_path": "anonymous"}
    for d in dashboards.values():
        for _, t in targets(d):
            out = substitute(t["expr"], values)
            assert "$" not in out and out.count("(") == out.count(")")


# --- content taken from the config --------------------------------------------------------------------


def test_slo_panels_use_recording_rules_and_objectives(dashboards: dict[str, dict[str, Any]]) -> None:
    ex = dashboards["regwatch-executive.json"]
    sli = _panel(ex, "pull-availability: SLI over 30d")
    assert [t["expr"] for t in sli["targets"]] == ['1 - slo:sli_error:ratio_rate30d{slo="pull-availability"}']
    assert _steps(sli) == [("red", None), ("green", 0.999)]
    assert sli["fieldConfig"]["defaults"]["unit"] == "percentunit"
    budget = _panel(ex, "log-pull-success: error budget remaining")
    assert [t["expr"] for t in budget["targets"]] == [
        'slo:error_budget_remaining:ratio{slo="log-pull-success"}'
    ]
    assert _steps(budget) == [("red", None), ("orange", 0.0), ("green", 0.25)]
    consumed = _panel(ex, "pull-latency: error budget consumed")
    assert [t["expr"] for t in consumed["targets"]] == [
        'slo:sli_error:ratio_rate30d{slo="pull-latency"} / 0.05'
    ]
    assert _steps(_panel(ex, "pull-latency: SLI over 30d")) == [("red", None), ("green", 0.95)]
    assert _panel(ex, "log-pull-success: SLI over 28d")["targets"][0]["expr"] == (
        '1 - slo:sli_error:ratio_rate28d{slo="log-pull-success"}'
    )
    rows = [p["title"] for p in ex["panels"] if p["type"] == "row"]
    assert rows == [
        "SLO pull-availability: 99.9% over 30d",
        "SLO pull-latency: 95% over 30d",
        "SLO log-pull-success: 99.5% over 28d",
        "Egress and pull volume",
    ]


def test_burn_panels_have_every_window_and_the_policy_thresholds(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    oc = dashboards["regwatch-oncall.json"]
    p = _panel(oc, "pull-availability: burn rate by window")
    assert [(t["legendFormat"], t["expr"]) for t in p["targets"]] == [
        (w, f'slo:sli_error:ratio_rate{w}{{slo="pull-availability"}} / 0.001')
        for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    ]
    assert _steps(p) == [("green", None), ("orange", 1.0), ("orange", 3.0), ("red", 6.0), ("red", 14.4)]
    assert p["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "dashed"}
    assert [link["url"] for link in p["links"]] == [
        "https://github.com/regwatch/regwatch/blob/main/docs/runbooks.md#regwatchsloburnpage",
        "https://github.com/regwatch/regwatch/blob/main/docs/runbooks.md#regwatchsloburnticket",
    ]
    success = _panel(oc, "First-attempt success by region and auth path")
    assert _steps(success) == [("red", None), ("green", 0.999)]
    lag = _panel(oc, "Replication lag by region")
    assert _steps(lag) == [("green", None), ("red", 300.0)] and lag["fieldConfig"]["defaults"]["unit"] == "s"
    failing = _panel(oc, "Consecutive failed probe rounds by canary")
    assert failing["links"][0]["url"].endswith("#regwatchcanaryfailing")


def test_latency_panels_use_the_slo_threshold(dashboards: dict[str, dict[str, Any]]) -> None:
    db = dashboards["regwatch-debug.json"]
    q = _panel(db, "Successful pull duration quantiles")
    assert _steps(q) == [("green", None), ("red", 2.0)]
    assert [t["legendFormat"] for t in q["targets"]] == ["p50", "p95", "p99"]
    hm = _panel(db, "Pull latency heatmap")
    assert hm["type"] == "heatmap" and hm["targets"][0]["format"] == "heatmap"
    assert hm["options"]["calculate"] is False and hm["options"]["yAxis"]["unit"] == "s"
    assert hm["targets"][0]["expr"] == (
        'sum by (le) (increase(regwatch_probe_pull_duration_seconds_bucket{registry=~"$registry",'
        'region=~"$region",auth_path=~"$auth_path",result="success"}[$__rate_interval]))'
    )


def test_egress_cost_uses_each_regions_price(dashboards: dict[str, dict[str, Any]]) -> None:
    p = _panel(dashboards["regwatch-executive.json"], "Egress cost per day by region")
    sel = 'regwatch_log_egress_bytes_total{registry=~"$registry",region=~"$region",'
    assert p["targets"][0]["expr"] == (
        f'sum by (region) (increase({sel}region="eu-west-1"}}[1d])) * 0.085 / 1073741824\nor\n'
        f'sum by (region) (increase({sel}region!~"eu-west-1"}}[1d])) * 0.09 / 1073741824'
    )
    assert p["fieldConfig"]["defaults"]["unit"] == "currencyUSD"


def test_thresholds_follow_the_config() -> None:
    text = (
        EXAMPLE.read_text()
        .replace("objective: 0.999", "objective: 0.99")
        .replace(
            "runbook_base_url: https://github.com/regwatch/regwatch/blob/main/docs/runbooks.md",
            "runbook_base_url: https://wiki.example.com/rb",
        )
    )
    out = load_all(generate_dashboards(parse_config(text, "custom.yaml")))
    sli = _panel(out["regwatch-executive.json"], "pull-availability: SLI over 30d")
    assert _steps(sli) == [("red", None), ("green", 0.99)]
    burn = _panel(out["regwatch-oncall.json"], "pull-availability: burn rate by window")
    assert burn["targets"][0]["expr"] == 'slo:sli_error:ratio_rate5m{slo="pull-availability"} / 0.01'
    assert burn["links"][0]["url"] == "https://wiki.example.com/rb#regwatchsloburnpage"


def test_config_without_slos_or_storage() -> None:
    cfg = parse_config("alerting: {storage_usage_expr: ''}\n", "bare.yaml")
    out = load_all(generate_dashboards(cfg))
    titles = {p["title"] for d in out.values() for p in panels(d)}
    assert "No SLOs configured" in titles and "Registry storage used" not in titles
    assert not any("burn rate" in t for t in titles)


def test_provisioning_file(files: dict[str, str]) -> None:
    prov = yaml.safe_load(files[PROVISIONING])
    assert prov["apiVersion"] == 1
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["folder"] == "regwatch"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/regwatch"


# --- CLI ---------------------------------------------------------------------------------------------


def test_cli_writes_checks_and_reports(tmp_path: Path, files: dict[str, str]) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    r = runner.invoke(cli, ["--config", str(EXAMPLE), "dashboards", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [f["dashboard"] for f in doc["files"]] == ["provisioning", "debug", "executive", "oncall"]
    assert [f["bytes"] for f in doc["files"]] == [len(files[k].encode()) for k in files]
    assert (out / "regwatch-oncall.json").read_text() == files["regwatch-oncall.json"]

    r = runner.invoke(cli, ["--config", str(EXAMPLE), "dashboards", "--out", str(out), "--check"])
    assert r.exit_code == 0 and r.output == f"4 files in {out} are up to date\n"

    (out / "regwatch-debug.json").write_text("{}")
    (out / "provisioning" / "regwatch.yaml").unlink()
    r = runner.invoke(cli, ["--config", str(EXAMPLE), "dashboards", "--out", str(out), "--check", "--json"])
    assert r.exit_code == 1
    assert json.loads(r.stdout)["stale"] == [
        {"file": str(out / "provisioning" / "regwatch.yaml"), "state": "missing"},
        {"file": str(out / "regwatch-debug.json"), "state": "stale"},
    ]


def test_cli_config_error_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("slos:\n  - {name: x, objective: 2}\n")
    r = CliRunner().invoke(cli, ["--config", str(bad), "dashboards", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert (
        r.stderr
        == f"regwatch: error: {bad}: slos[0].objective: must be between 0 and 1 (exclusive), e.g. 0.999\n"
    )
    assert not (tmp_path / "o").exists()
