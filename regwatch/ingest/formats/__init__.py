"""Log formats: each turns the lines in the temp view ``rw_raw(line, raw)`` into normalised rows in SQL.

``rw_raw`` may be a stream (``feed``: pipes filled as DuckDB reads them): exactly one statement of a
format reads it, to its end.

A format module exposes ``TARGET`` ("requests" or "audit_events") and
``run(conn, *, registry, region, source, carry, options) -> str | None`` which leaves its rows in
``rw_rows`` (a temp table or view: the columns of the target table, in order) and its rejects in the
temp table ``rw_rejects(line, reason, raw)``, and returns the carry state for the next batch (or
None). It may set ``SETTINGS``, DuckDB settings for the whole batch (put back after it).
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql_statements(name: str) -> tuple[str, ...]:
    """The statements of ``regwatch/ingest/sql/<name>.sql`` (separated by ``-- @@`` lines)."""
    text = resources.files("regwatch.ingest.sql").joinpath(f"{name}.sql").read_text(encoding="utf-8")
    return tuple(s.strip() for s in text.split("\n-- @@\n") if s.strip())
