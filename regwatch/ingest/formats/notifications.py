"""distribution notification envelopes -> audit_events (from files, and from serve's endpoint)."""

from __future__ import annotations

from typing import Any

import duckdb

from regwatch.ingest.formats import sql_statements

TARGET = "audit_events"


def run(
    conn: duckdb.DuckDBPyConnection,
    *,
    registry: str | None,
    region: str | None,
    source: str,
    carry: str | None,
    options: dict[str, Any],
) -> str | None:
    """Parse the envelopes in ``rw_raw`` into ``rw_rows``; event ids already stored are skipped."""
    params = {"registry": registry, "region": region, "source": source}
    for stmt in sql_statements("notifications"):
        conn.execute(stmt, {k: v for k, v in params.items() if f"${k}" in stmt})
    return None
