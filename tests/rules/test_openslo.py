"""OpenSLO v1 SLO objects as rule specs."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_helpers import ROOT

from regwatch.config import AlertingConfig, Config
from regwatch.errors import ConfigError
from regwatch.openslo import load_openslo
from regwatch.rules import generate_rule_tests, generate_rules

EXAMPLES = ROOT / "examples" / "openslo"

SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  indicator:
    spec:
      ratioMetric:
        {kind}: {{metricSource: {{type: Prometheus, spec: {{query: '{part}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: '{total}'}}}}}}
  timeWindow: [{{duration: 7d, isRolling: true}}]
  objectives: [{{target: 0.99}}]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "slo.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_examples_load() -> None:
    specs = load_openslo(sorted(EXAMPLES.glob("*.yaml")), AlertingConfig(min_events=25))
    assert [(s.name, s.objective, s.window, s.min_events, s.labels) for s in specs] == [
        ("blob-errors", 0.999, "7d", 25, (("slo", "blob-errors"),)),
        ("manifest-availability", 0.995, "28d", 25, (("slo", "manifest-availability"),)),
    ]
    blob, manifest = specs
    assert blob.errors_expr == 'sum(rate(registry_http_requests_total{handler="blob",code="500"}[5m]))'
    assert manifest.errors_expr == (
        'clamp_min(sum(rate(registry_http_requests_total{handler="manifest"}[5m])) - '
        '(sum(rate(registry_http_requests_total{handler="manifest",code="200"}[5m])) or vector(0)), 0)'
    )
    # total matches the good series too: the synthesised inputs still give the asked-for ratio
    assert manifest.fixture is not None
    assert manifest.fixture(0.1, 100.0) == [
        ('registry_http_requests_total{code="200",handler="manifest"}', 90.0),
        ('registry_http_requests_total{handler="manifest"}', 10.0),
    ]


def test_expressions_become_subqueries_and_get_no_tests(tmp_path: Path) -> None:
    q = 'sum by (code) (http_requests_total{code=~"5.."})'
    path = _write(tmp_path, SLO.format(name="api", kind="bad", part=q, total="http_requests_total"))
    (spec,) = load_openslo([path])
    assert spec.errors_expr == f"sum(rate(({q})[5m:]))"
    assert spec.fixture is None
    cfg = Config()
    assert "regwatch-slo-api.rules.yml" in generate_rules(cfg, openslo=[spec])
    tests = generate_rule_tests(cfg, openslo=[spec])
    assert sorted(tests) == ["symptoms.test.yml"]
    assert "cannot be synthesised: api" in tests["symptoms.test.yml"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SLO.format(name="Bad Name", kind="good", part="a", total="b"), "metadata.name: 'Bad Name' must match"),
        (SLO.format(name="x", kind="good", part="a", total="b").replace("Prometheus", "Datadog", 1),
         "ratioMetric.good.metricSource.type: only Prometheus is supported"),
        (SLO.format(name="x", kind="good", part="a", total="b").replace("isRolling: true", "isRolling: false"),
         "spec.timeWindow[0]: only rolling windows are supported"),
        (SLO.format(name="x", kind="good", part="a", total="b").replace("0.99", "99"),
         "spec.objectives[0].target: must be between 0 and 1"),
        (SLO.format(name="x", kind="good", part="a", total="b").replace("openslo/v1", "openslo/v1alpha"),
         "apiVersion: only openslo/v1 is supported"),
        (SLO.format(name="x", kind="good", part="a", total="b").replace("indicator:", "indicatorRef: nope\n  x:"),
         "spec.indicatorRef: no kind: SLI named 'nope'"),
    ],
)  # fmt: skip
def test_unsupported_documents_are_config_errors_naming_file_and_document(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_openslo([path])
    assert str(exc.value).startswith(f"{path} document 1: ")
    assert message in str(exc.value)


def test_a_name_used_twice_is_an_error(tmp_path: Path) -> None:
    text = SLO.format(name="x", kind="good", part="a", total="b")
    path = _write(tmp_path, text + "---\n" + text)
    specs = load_openslo([path])
    with pytest.raises(ConfigError, match="SLO name 'x' is also used by"):
        generate_rules(Config(), openslo=specs)
