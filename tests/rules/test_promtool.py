"""Prometheus' own tools accept the generated rules, and the generated unit tests pass."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from rules_helpers import EXAMPLE, ROOT, binary

from regwatch.config import load_config
from regwatch.openslo import load_openslo
from regwatch.rules import write_rules

OPENSLO = sorted((ROOT / "examples" / "openslo").glob("*.yaml"))


def _run_all(argvs: list[list[str]], cwd: Path) -> list[tuple[int, str]]:
    """Run the commands two at a time (promtool test is CPU-bound; the machine has 2 cores)."""
    results: list[tuple[int, str]] = []
    for i in range(0, len(argvs), 2):
        procs = [
            subprocess.Popen(a, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
            for a in argvs[i : i + 2]
        ]
        for p in procs:
            out, _ = p.communicate(timeout=600)
            results.append((p.returncode, out))
    return results


def test_promtool_check_rules_accepts_every_checked_in_file() -> None:
    files = sorted((ROOT / "rules").glob("*.rules.yml"))
    assert len(files) == 4
    res = subprocess.run(  # noqa: S603
        [binary("promtool"), "check", "rules", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("SUCCESS") == 4
    assert "duplicate" not in res.stdout + res.stderr


def test_generated_promtool_unit_tests_pass() -> None:
    tests = sorted((ROOT / "rules" / "tests").glob("*.test.yml"))
    assert [t.name for t in tests] == [
        "slo-log-pull-success.test.yml", "slo-pull-availability.test.yml", "slo-pull-latency.test.yml",
        "symptoms.test.yml",
    ]  # fmt: skip
    promtool = binary("promtool")
    for code, out in _run_all([[promtool, "test", "rules", t.name] for t in tests], ROOT / "rules" / "tests"):
        assert code == 0, out
        assert "SUCCESS" in out


def test_the_unit_tests_cover_every_alert_above_and_below() -> None:
    """Every page/ticket condition has a fires-above and a silent-below case; every symptom a firing case."""
    for path in (ROOT / "rules" / "tests").glob("slo-*.test.yml"):
        names = [t["name"] for t in yaml.safe_load(path.read_text())["tests"]]
        slo = path.name[len("slo-") : -len(".test.yml")]
        for label, factor, above, below in (
            ("page 1h/5m", 14.4, "15.12", "13.68"), ("page 6h/30m", 6, "6.3", "5.7"),
            ("ticket 1d/2h", 3, "3.15", "2.85"), ("ticket 3d/6h", 1, "1.05", "0.95"),
        ):  # fmt: skip
            assert f"{slo}: {label} fires at burn {above} (above {factor})" in names
            assert f"{slo}: {label} stays silent at burn {below} (below {factor})" in names
    symptoms = yaml.safe_load((ROOT / "rules" / "tests" / "symptoms.test.yml").read_text())["tests"]
    rules = yaml.safe_load((ROOT / "rules" / "regwatch-symptoms.rules.yml").read_text())["groups"][0]["rules"]
    for rule in rules:
        cases = [t for t in symptoms if t["alert_rule_test"][0]["alertname"] == rule["alert"]]
        assert any(t["alert_rule_test"][0]["exp_alerts"] for t in cases), rule["alert"]


def test_a_broken_rule_fails_its_generated_test(tmp_path: Path) -> None:
    """The tests are not vacuous: page at 13x instead of 14.4x and the below-threshold case catches it."""
    write_rules(load_config(EXAMPLE), tmp_path)
    f = tmp_path / "regwatch-slo-pull-availability.rules.yml"
    f.write_text(f.read_text().replace("> 14.4", "> 13"))
    res = subprocess.run(  # noqa: S603
        [binary("promtool"), "test", "rules", "slo-pull-availability.test.yml"],
        cwd=tmp_path / "tests", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 1
    assert (
        "name: pull-availability: page 1h/5m stays silent at burn 13.68 (below 14.4)"
        in res.stdout + res.stderr
    )


@pytest.mark.parametrize("path", OPENSLO, ids=[p.name for p in OPENSLO])
def test_openslo_examples_generate_rules_that_promtool_accepts_and_tests(path: Path, tmp_path: Path) -> None:
    cfg = load_config(EXAMPLE)
    specs = load_openslo([path], cfg.alerting)
    write_rules(cfg, tmp_path, openslo=specs)
    promtool = binary("promtool")
    name = specs[0].name
    res = subprocess.run(  # noqa: S603
        [promtool, "check", "rules", f"regwatch-slo-{name}.rules.yml"], cwd=tmp_path,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run(  # noqa: S603
        [promtool, "test", "rules", f"slo-{name}.test.yml"], cwd=tmp_path / "tests",
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
