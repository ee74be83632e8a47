"""Config loading: every broken file gives exit 2 and one line naming the file and key; no secret leaks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from regwatch.cli import cli
from regwatch.config import load_config, parse_config
from regwatch.errors import ConfigError

SECRET = "s3cr3t-Pa55w0rd-do-not-print"

GOOD = """\
registries:
  - name: main
    regions:
      - {name: us-east-1, url: "https://registry.example.com"}
      - {name: eu-west-1, url: "http://127.0.0.1:5000", tls: {verify: false}}
    auth_paths:
      - name: anonymous
      - {name: ci-robot, username: robot, password_env: RW_TEST_PASSWORD}
    canaries:
      - {repository: platform/canary, reference: v1}
      - {repository: platform/base, reference: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", platform: linux/arm64/v8}
slos:
  - {name: pull-availability, sli: pull_success, source: probes, objective: 0.999, window: 30d}
  - {name: pull-latency, sli: pull_latency, source: probes, threshold_seconds: 2, objective: 0.95, window: 30d}
logs:
  - {path: "/var/log/registry/*.log", registry: main, region: us-east-1}
"""

# (name, yaml text, expected message fragment after "cfg.yaml: ")
BROKEN = [
    ("bad-yaml", "registries: [\n  - name: main\n", "cfg.yaml:2:3: invalid YAML: expected the node content"),
    ("not-a-mapping", "- 1\n- 2\n", "the top level must be a mapping"),
    ("unknown-top-key", "registry: []\n", "registry: unknown key"),
    (
        "unknown-nested-key",
        GOOD.replace("tls: {verify: false}", "tls: {verfy: false}"),
        "registries[0].regions[1].tls.verfy: unknown key",
    ),
    (
        "wrong-type-bool",
        GOOD.replace("tls: {verify: false}", "tls: {verify: nope}"),
        "registries[0].regions[1].tls.verify: must be true or false",
    ),
    (
        "wrong-type-number",
        GOOD + "probe: {interval_seconds: soon}\n",
        "probe.interval_seconds: must be a number",
    ),
    (
        "missing-required",
        "registries:\n  - regions: [{name: a, url: 'http://127.0.0.1'}]\n",
        "registries[0].name: required key is missing",
    ),
    (
        "missing-region-url",
        "registries:\n  - name: main\n    regions: [{name: a}]\n",
        "registries[0].regions[0].url: required key is missing",
    ),
    (
        "bad-url",
        GOOD.replace('"http://127.0.0.1:5000"', '"ftp://127.0.0.1:5000"'),
        "registries[0].regions[1].url: not an http(s) URL",
    ),
    (
        "duplicate-region",
        GOOD.replace("name: eu-west-1", "name: us-east-1"),
        "registries[0].regions[1].name: duplicate region 'us-east-1'",
    ),
    (
        "duplicate-registry",
        GOOD.replace("slos:", "  - name: main\n    regions: [{name: a, url: 'http://127.0.0.1'}]\nslos:", 1),
        "registries[1].name: duplicate registry name 'main'",
    ),
    (
        "duplicate-slo",
        GOOD.replace("name: pull-latency", "name: pull-availability"),
        "slos[1].name: duplicate SLO name 'pull-availability'",
    ),
    (
        "bad-label",
        GOOD.replace("name: main", "name: Main Registry"),
        "registries[0].name: must match [a-z0-9_-]+",
    ),
    (
        "objective-out-of-range",
        GOOD.replace("objective: 0.999", "objective: 99.9"),
        "slos[0].objective: must be between 0 and 1",
    ),
    ("bad-window", GOOD.replace("window: 30d", "window: monthly", 1), "slos[0].window: not a duration"),
    (
        "threshold-not-a-bucket",
        GOOD.replace("threshold_seconds: 2", "threshold_seconds: 1.5"),
        "slos[1].threshold_seconds: 1.5 is not a histogram bucket boundary (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5",
    ),
    (
        "sli-source-mismatch",
        GOOD.replace("sli: pull_latency, source: probes", "sli: pull_latency, source: logs"),
        "slos[1].source: sli pull_latency cannot be computed from logs",
    ),
    ("bad-enum", GOOD.replace("sli: pull_success", "sli: availability"), "slos[0].sli: must be one of"),
    (
        "password-without-user",
        GOOD.replace("username: robot, ", ""),
        "registries[0].auth_paths[1].username: required when a password is given",
    ),
    (
        "both-password-sources",
        GOOD.replace("password_env: RW_TEST_PASSWORD", "password_env: RW_TEST_PASSWORD, password_file: /x"),
        "registries[0].auth_paths[1]: give password_env or password_file, not both",
    ),
    ("duplicate-yaml-key", GOOD + "probe: {}\nprobe: {}\n", "invalid YAML: duplicate key 'probe'"),
    (
        "bad-repository",
        GOOD.replace("platform/canary", "Platform/Canary"),
        "registries[0].canaries[0].repository",
    ),
    (
        "list-expected",
        GOOD.replace("logs:\n  - {path", "logs:\n  {path").replace(
            "region: us-east-1}\n", "region: us-east-1}\n"
        ),
        "logs: must be a list",
    ),
    ("no-regions", "registries:\n  - name: main\n", "registries[0].regions: at least one region is required"),
]


def test_good_config_parses_into_typed_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_config(GOOD, "cfg.yaml")
    reg = cfg.registry("main")
    assert [r.name for r in reg.regions] == ["us-east-1", "eu-west-1"]
    assert reg.regions[1].tls.verify is False
    assert reg.canaries[0].label == "platform/canary:v1"
    assert reg.canaries[1].label.startswith("platform/base@sha256:")
    assert cfg.slos[1].threshold_seconds == 2.0
    assert cfg.slos[0].window_seconds == 30 * 86400
    assert cfg.probe.interval_seconds == 60.0  # defaults
    monkeypatch.setenv("RW_TEST_PASSWORD", SECRET)
    pw = reg.auth_paths[1].password
    assert pw is not None and pw.reveal() == SECRET
    assert SECRET not in repr(cfg) and SECRET not in str(pw)


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_config_exits_2_with_one_line(tmp_path: Path, name: str, text: str, expected: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("RW_TEST_PASSWORD", SECRET)
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--config", "cfg.yaml", "check-config"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("regwatch: error: cfg.yaml"), lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output and SECRET not in result.output + result.stderr


def test_at_least_twelve_broken_configs() -> None:
    assert len(BROKEN) >= 12


def test_missing_secret_variable_names_the_variable_not_a_value(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("RW_TEST_PASSWORD", raising=False)
    (tmp_path / "cfg.yaml").write_text(GOOD)
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "cfg.yaml"), "check-config"])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("environment variable RW_TEST_PASSWORD is not set")


def test_unreadable_secret_file(tmp_path: Path) -> None:
    text = GOOD.replace("password_env: RW_TEST_PASSWORD", f"password_file: {tmp_path / 'nope'}")
    (tmp_path / "cfg.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "cfg.yaml"), "check-config"])
    assert result.exit_code == 2
    assert "cannot read secret file" in result.stderr and "No such file" in result.stderr


def test_check_config_lists_what_it_watches_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\n")
    text = GOOD.replace("password_env: RW_TEST_PASSWORD", f"password_file: {secret_file}")
    (tmp_path / "cfg.yaml").write_text(text)
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(tmp_path / "cfg.yaml"), "check-config"])
    assert result.exit_code == 0, result.output
    assert "SUCCESS: 1 registries, 2 regions, 8 probes per round, 2 SLOs, 1 log sources" in result.output
    assert f"password from file:{secret_file}" in result.output
    assert SECRET not in result.output
    result = runner.invoke(cli, ["--config", str(tmp_path / "cfg.yaml"), "check-config", "--json"])
    assert result.exit_code == 0
    assert SECRET not in result.output
    import json

    info = json.loads(result.output)
    assert len(info["probe_matrix"]) == 8
    assert {m["auth_path"] for m in info["probe_matrix"]} == {"anonymous", "ci-robot"}


def test_example_config_is_valid() -> None:
    cfg = load_config(Path(__file__).parents[2] / "examples" / "regwatch.yaml")
    assert cfg.registries and cfg.slos


def test_missing_default_config_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None).registries == []
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_config_objects_are_immutable() -> None:
    cfg = parse_config(GOOD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.probe.interval_seconds = 1  # type: ignore[misc]
