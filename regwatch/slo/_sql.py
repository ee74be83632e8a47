"""Load the SLI/SLO SQL files and install the shared classification macros on a connection."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import duckdb

from regwatch.errors import StoreError
from regwatch.store import Store


@cache
def sql(name: str) -> str:
    """Return the text of ``regwatch/slo/sql/<name>``."""
    return (resources.files("regwatch.slo") / "sql" / name).read_text(encoding="utf-8")


def install_macros(store: Store) -> None:
    """Define the classification macros (classify.sql) as TEMP macros on the store's connection.

    Temporary objects live in the connection's own catalog, so this works on read-only stores too.
    """
    run(store, "classify.sql")


def run(store: Store, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run one SQL file with bound parameters and return its rows as dicts."""
    try:
        return store.fetch_dicts(sql(name), params)
    except duckdb.Error as exc:
        raise StoreError(f"{store.path}: query {name} failed: {exc}") from None
