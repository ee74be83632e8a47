"""Load the SLI/SLO SQL files and install the shared classification macros on a connection."""

from __future__ import annotations

import weakref
from functools import cache
from importlib import resources
from typing import Any

import duckdb

from regwatch.errors import StoreError
from regwatch.store import Store

#: Connections that already hold this process's classify.sql macros (TEMP objects live as long as the
#: connection, so installing them once per connection is enough).
_INSTALLED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str] = weakref.WeakKeyDictionary()


@cache
def sql(name: str) -> str:
    """Return the text of ``regwatch/slo/sql/<name>``."""
    return (resources.files("regwatch.slo") / "sql" / name).read_text(encoding="utf-8")


def install_macros(store: Store) -> None:
    """Define the classification macros (classify.sql) as TEMP macros on the store's connection, once.

    Temporary objects live in the connection's own catalog, so this works on read-only stores too.
    """
    text = sql("classify.sql")
    if _INSTALLED.get(store.conn) == text:
        return
    run(store, "classify.sql")
    _INSTALLED[store.conn] = text


def run(store: Store, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run one SQL file with bound parameters and return its rows as dicts."""
    try:
        return store.fetch_dicts(sql(name), params)
    except duckdb.Error as exc:
        raise StoreError(f"{store.path}: query {name} failed: {exc}") from None
