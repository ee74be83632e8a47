"""docs/schema.md documents every column of every table of the store, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from regwatch.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    table = None
    for line in (ROOT / "docs" / "schema.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^## `(\w+)`", line)
        if m:
            table = m.group(1)
            out[table] = []
            continue
        m = re.match(r"^\| `(\w+)` \|", line)
        if m and table:
            out[table].append(m.group(1))
    return out


def test_every_column_is_documented(store: Store) -> None:
    actual: dict[str, list[str]] = {}
    for table, column in store.fetchall(
        "SELECT table_name, column_name FROM information_schema.columns ORDER BY table_name, ordinal_position"
    ):
        actual.setdefault(table, []).append(column)
    assert _documented() == actual
