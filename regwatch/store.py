"""The DuckDB store: opening it, migrating its schema, and sharing it between processes.

Concurrency: DuckDB lets one process hold a file read-write, or any number of processes hold it
read-only, never both. Writers (``serve``, ``probe``, ``ingest``) therefore keep the file open only
while they write a batch, and every open (reader or writer) that meets another process's lock waits
and retries for up to ``wait_seconds`` before failing with a clear message. ``serve`` holds the lock
for milliseconds per batch, so ``query``, ``report`` and ``slo`` run beside it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from regwatch.errors import StoreError

DEFAULT_DB_PATH = "regwatch.duckdb"
DEFAULT_WAIT_SECONDS = 10.0


def migrations() -> list[tuple[int, str, str]]:
    """Return (version, name, sql) for every schema file, in order."""
    out = []
    for entry in resources.files("regwatch.schema").iterdir():
        m = re.fullmatch(r"(\d{3})_[a-z0-9_]+\.sql", entry.name)
        if m:
            out.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    out.sort()
    return out


def current_version() -> int:
    """The schema version this regwatch writes."""
    return migrations()[-1][0]


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


class Store:
    """An open DuckDB store. Use ``open_store`` rather than constructing it directly."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        """Run one statement with bound parameters."""
        return self.conn.execute(sql, params) if params is not None else self.conn.execute(sql)

    def fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows."""
        return self.execute(sql, params).fetchall()

    def fetch_dicts(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts keyed by column name."""
        cur = self.execute(sql, params)
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def schema_version(self) -> int:
        """The schema version of the open file (0 for an empty file)."""
        return _version(self.conn)

    def close(self) -> None:
        """Close the connection (checkpointing writes)."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _version(conn: duckdb.DuckDBPyConnection) -> int:
    has = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not has or not has[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: duckdb.DuckDBPyConnection, path: str) -> int:
    """Bring the schema up to date, one transaction per migration; return the final version."""
    have = _version(conn)
    want = current_version()
    if have > want:
        raise StoreError(
            f"{path}: store schema version {have} is newer than this regwatch understands ({want}); "
            "upgrade regwatch"
        )
    if have == 0:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
    for version, name, sql in migrations():
        if version <= have:
            continue
        try:
            with transaction(conn):
                conn.execute(sql)
                conn.execute(
                    "INSERT INTO schema_version VALUES (?, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP))",
                    [version],
                )
        except duckdb.Error as exc:
            raise StoreError(f"{path}: migration {name} failed: {exc}") from None
    return want


def connect(path: str, *, read_only: bool = False, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Store:
    """Open (and for writers, create or migrate) the store, waiting out another process's lock."""
    memory = path == ":memory:"
    if read_only and not memory and not Path(path).exists():
        raise StoreError(f"{path}: no store here yet (run `regwatch probe` or `regwatch ingest` first)")
    if not memory:
        parent = Path(path).resolve().parent
        if not parent.is_dir():
            raise StoreError(f"{path}: directory {parent} does not exist")
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    delay = 0.02
    while True:
        try:
            conn = duckdb.connect(path, read_only=read_only and not memory)
            break
        except duckdb.Error as exc:
            if _is_lock_error(exc) and time.monotonic() < deadline:
                time.sleep(min(delay, max(deadline - time.monotonic(), 0.001)))
                delay = min(delay * 2, 0.25)
                continue
            if _is_lock_error(exc):
                raise StoreError(
                    f"{path}: store is locked by another regwatch process (waited {wait_seconds:g}s); "
                    "retry, or raise --db-wait"
                ) from None
            raise StoreError(f"{path}: cannot open store: {exc}") from None
    try:
        conn.execute("SET TimeZone = 'UTC'")
        if read_only and not memory:
            have, want = _version(conn), current_version()
            if have > want:
                raise StoreError(
                    f"{path}: store schema version {have} is newer than this regwatch understands ({want})"
                )
            if have < want:
                raise StoreError(
                    f"{path}: store schema version {have} is older than {want}; run a writing command "
                    "(regwatch ingest or probe) once to migrate it"
                )
        else:
            migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return Store(conn, path, read_only)


@contextmanager
def transaction(
    conn: duckdb.DuckDBPyConnection, *, temp_tables: Sequence[str] = (), temp_views: Sequence[str] = ()
) -> Iterator[None]:
    """Run the block as one transaction: COMMIT when it completes, ROLLBACK on any exception
    (KeyboardInterrupt included), so a batch's rows and its bookkeeping land together or not at all.
    Afterwards, either way, drop the temporary tables and views the batch made."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):
            conn.execute("ROLLBACK")
        raise
    finally:
        for kind, names in (("TABLE", temp_tables), ("VIEW", temp_views)):
            for name in names:
                with suppress(duckdb.Error):
                    conn.execute(f"DROP {kind} IF EXISTS {name}")


@contextmanager
def open_store(
    path: str, *, read_only: bool = False, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> Iterator[Store]:
    """Open the store for the duration of a ``with`` block."""
    store = connect(path, read_only=read_only, wait_seconds=wait_seconds)
    try:
        yield store
    finally:
        store.close()
