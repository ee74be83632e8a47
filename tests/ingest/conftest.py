"""Fixtures of the ingest tests: a fresh store file per test, the sample logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regwatch.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample-logs"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated store in a DuckDB file of its own."""
    with open_store(str(tmp_path / "t.duckdb")) as s:
        yield s


@pytest.fixture
def samples() -> Path:
    """The directory of the real sample logs."""
    return SAMPLES
