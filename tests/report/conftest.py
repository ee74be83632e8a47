"""Fixtures of the report tests: the hand-built week of tests/report/fixture_data.py in a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest
from report import fixture_data

from regwatch.config import Config
from regwatch.store import connect


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of a store holding the fixture week (built once per module; tests open it read-only)."""
    path = str(tmp_path_factory.mktemp("report") / "regwatch.duckdb")
    store = connect(path)
    try:
        fixture_data.populate(store)
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def report_cfg() -> Config:
    return fixture_data.config()


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "regwatch.yaml"
    path.write_text(fixture_data.CONFIG_YAML, encoding="utf-8")
    return str(path)
