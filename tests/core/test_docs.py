"""Documentation stays in step with the code: config keys, commands, metrics."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

from click.testing import CliRunner

from regwatch import catalog, config
from regwatch.cli import cli

ROOT = Path(__file__).parents[2]


def _keys(cls: type, prefix: str = "") -> list[str]:
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        out.append(f.name)
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        inner = tp if dataclasses.is_dataclass(tp) else (args[0] if args else None)
        if inner is not None:
            out += _keys(inner, f"{prefix}{f.name}.")
    return out


def test_every_config_key_is_documented() -> None:
    text = (ROOT / "docs" / "config.md").read_text()
    import re

    missing = [k for k in _keys(config.Config) if not re.search(rf"`[^`\n]*\b{k}\b[^`\n]*`", text)]
    assert not missing, f"keys missing from docs/config.md: {missing}"


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    runner = CliRunner()
    commands = cli.list_commands(None)  # type: ignore[arg-type]
    assert "check-config" in commands
    for name in commands:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        cmd = cli.get_command(None, name)  # type: ignore[arg-type]
        assert cmd is not None and (cmd.help or "").strip(), f"{name} has no help text"
        for p in cmd.params:
            if isinstance(p, typing.cast(type, __import__("click").Option)):
                assert p.help, f"regwatch {name} {p.opts[0]} has no help text"
        assert f"regwatch {name}" in readme, f"regwatch {name} is not in README.md"


def test_every_metric_is_documented_once_with_its_labels() -> None:
    text = (ROOT / "docs" / "metrics.md").read_text()
    for m in catalog.CATALOG:
        assert f"`{m.name}`" in text, m.name
    for line in text.splitlines():
        if line.startswith("| `regwatch_"):
            name = line.split("`")[1]
            assert name in catalog.BY_NAME, f"docs/metrics.md documents unknown metric {name}"


def test_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("regwatch, version ")
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0 and "check-config" in result.output


def test_metrics_doc_is_fresh() -> None:
    from regwatch import metrics_doc

    assert (ROOT / "docs" / "metrics.md").read_text() == metrics_doc.render(), "run `make regen`"
