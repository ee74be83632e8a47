"""A real DuckDB store holding the hand-built rows of query_data.py."""

from __future__ import annotations

import pytest
from queries.query_data import AUDIT, PROBES, REQUEST_COLUMNS, REQUESTS, TAG_OBSERVATIONS

from regwatch.store import connect


@pytest.fixture(scope="module")
def query_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("queries") / "regwatch.duckdb")
    with connect(path) as store:
        cols = ", ".join(f'"{c}"' for c in REQUEST_COLUMNS)
        store.conn.executemany(
            f"INSERT INTO requests ({cols}) VALUES (?, 'main', ?, 'test.log', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], r[1], i, *r[2:]) for i, r in enumerate(REQUESTS)],
        )
        store.conn.executemany(
            "INSERT INTO audit_events (event_id, ts, action, registry, region, repository, tag, digest, actor,"
            " client_addr, user_agent, request_id, source) VALUES (?, ?, ?, 'main', 'us', ?, ?, ?, ?, ?, ?, ?, 'test')",
            AUDIT,
        )
        store.conn.executemany(
            "INSERT INTO tag_observations (ts, registry, region, repository, tag, digest, present, changed,"
            " previous_digest, status) VALUES (?, 'main', ?, 'platform/base', ?, ?, ?, ?, ?, 200)",
            TAG_OBSERVATIONS,
        )
        store.conn.executemany(
            "INSERT INTO probe_results (ts, kind, registry, region, auth_path, canary, repository, reference, result,"
            " reason, status, duration_s, error) VALUES (?, ?, 'main', ?, ?, 'platform/canary:v1', 'platform/canary',"
            " 'v1', ?, ?, ?, 0.5, ?)",
            PROBES,
        )
    return path
