"""Fixtures for the SLI/SLO tests: a real DuckDB store in tmp_path (data and writers: slo_data.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regwatch.store import Store, connect


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "regwatch.duckdb")


@pytest.fixture
def store(db_path: str) -> Iterator[Store]:
    s = connect(db_path)
    yield s
    s.close()
