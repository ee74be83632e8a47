"""distribution (registry:2, Debian's docker-registry): logrus JSON or text lines plus access lines."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from regwatch.ingest.formats import sql_statements

TARGET = "requests"
# DuckDB's working memory while a batch is parsed: a big batch (a whole 1 GB log) then spills to the
# store's temp directory instead of growing the process (RSS stays well under 2 GB).
MEMORY_LIMIT = "1280MB"
# The parse statement filters on classifications and parse results; pushing those filters down copies
# the expressions (regexes, JSON extraction) into them, so they would run twice. And a short IN list
# of constants is cheaper as comparisons than as the hash join in_clause makes of it. Off while they run.
DISABLED_OPTIMIZERS = "filter_pushdown,in_clause"
SETTINGS = {"memory_limit": MEMORY_LIMIT, "disabled_optimizers": DISABLED_OPTIMIZERS}  # for the whole batch

# Statement 3 pairs on the hash of (method, uri, ip); after a collision, on the key itself.
_KEY = "/*key*/"
_EXACT_KEY = ", method, uri, ip"

_CARRY_COLUMNS = ("line", "ts", "id", "method", "uri", "ip", "status", "duration_s")

# The carry of the previous batch as a relation (few rows: unpaired completions of its last 256 lines).
_CARRY = """
CREATE OR REPLACE TEMP TABLE rw_carry AS
SELECT CAST(c.line AS BIGINT) AS line, CAST(c.ts AS TIMESTAMP) AS ts, c.id, c.method, c.uri, c.ip,
       CAST(c.status AS SMALLINT) AS status, CAST(c.duration_s AS DOUBLE) AS duration_s
FROM (SELECT unnest(CAST(? AS STRUCT(line BIGINT, ts VARCHAR, id VARCHAR, method VARCHAR, uri VARCHAR,
                                     ip VARCHAR, status SMALLINT, duration_s DOUBLE)[]), recursive := true)) c
"""


def run(
    conn: duckdb.DuckDBPyConnection,
    *,
    registry: str,
    region: str,
    source: str,
    carry: str | None,
    options: dict[str, Any],
) -> str | None:
    """Parse the batch in ``rw_raw``; return the carry for the next batch."""
    rows = json.loads(carry) if carry else []
    conn.execute(_CARRY, [rows])
    params = {"registry": registry, "region": region, "source": source}

    def execute(stmt: str) -> None:
        conn.execute(stmt, {k: v for k, v in params.items() if f"${k}" in stmt})

    parse, dedupe, ranks, pairs, *rest = sql_statements("distribution")
    for stmt in (parse, dedupe, ranks.replace(_KEY, ""), pairs):
        execute(stmt)
    if _collided(conn):  # two keys of this batch share a hash: pair on the keys themselves
        execute(ranks.replace(_KEY, _EXACT_KEY))
        execute(pairs)
    for stmt in rest:
        execute(stmt)
    for name in ("rw_parsed", "rw_p"):  # free them before the insert
        conn.execute(f"DROP TABLE {name}")
    out = conn.execute(
        "SELECT line, strftime(ts, '%Y-%m-%dT%H:%M:%S.%f'), id, method, uri, ip, status, duration_s "
        "FROM rw_carry_out ORDER BY line"
    ).fetchall()
    return json.dumps([dict(zip(_CARRY_COLUMNS, r, strict=True)) for r in out]) if out else None


def _collided(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether a ranked pair of the batch joined two different keys (their hashes were equal)."""
    row = conn.execute("SELECT count(*) FROM rw_all WHERE collided").fetchone()
    return bool(row and row[0])
