"""Data of the SLI/SLO tests: the reference time, row writers and the hand-computed log fixture.

A module of its own (not conftest.py), so test files import it by a unique name
(``from slo.slo_data import ...``) whichever other test directories run in the same session.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from regwatch.store import Store

#: The fixtures' reference time (naive UTC, as the store holds it).
T0 = datetime(2026, 3, 1, 12, 0, 0)

REQUEST_COLUMNS = (
    "ts", "registry", "region", "source", "line", "client_ip", "method", "route", "repository",
    "reference", "status", "bytes_sent", "duration_s", "cache_status",
)  # fmt: skip
PROBE_COLUMNS = (
    "ts", "kind", "registry", "region", "auth_path", "canary", "repository", "reference", "result",
    "reason", "bytes", "duration_s", "manifest_s",
)  # fmt: skip


def add_requests(store: Store, rows: list[dict[str, Any]]) -> None:
    """Insert request rows; missing columns get defaults (registry main, region us, GET manifest)."""
    defaults: dict[str, Any] = {
        "registry": "main", "region": "us", "source": "test.log", "client_ip": "10.0.0.1",
        "method": "GET", "route": "manifest", "repository": "a/app", "reference": "v1", "status": 200,
        "bytes_sent": 0, "duration_s": None, "cache_status": None,
    }  # fmt: skip
    for i, row in enumerate(rows, start=1):
        full = {**defaults, "line": i, **row}
        store.execute(
            f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})",
            [full[c] for c in REQUEST_COLUMNS],
        )


def add_probes(store: Store, rows: list[dict[str, Any]]) -> None:
    """Insert probe rows; missing columns get defaults (a successful pull of platform/canary:v1)."""
    defaults: dict[str, Any] = {
        "kind": "pull", "registry": "main", "region": "us", "auth_path": "anonymous",
        "canary": "platform/canary:v1", "repository": "platform/canary", "reference": "v1",
        "result": "success", "reason": None, "bytes": 0, "duration_s": 0.5, "manifest_s": None,
    }  # fmt: skip
    for row in rows:
        full = {**defaults, **row}
        store.execute(
            f"INSERT INTO probe_results ({', '.join(PROBE_COLUMNS)}) VALUES ({', '.join('?' * len(PROBE_COLUMNS))})",
            [full[c] for c in PROBE_COLUMNS],
        )


def at(seconds: float) -> datetime:
    """T0 plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


#: The hand-computed log fixture (docs of each row: what it is and how it counts).
LOG_ROWS: list[dict[str, Any]] = [
    # 1 good pull, first
    {"ts": at(0), "client_ip": "10.0.0.1", "status": 200, "bytes_sent": 1000, "duration_s": 0.1},
    # 2 bad pull (503), first: its 100 bytes are no egress
    {"ts": at(10), "client_ip": "10.0.0.1", "status": 503, "bytes_sent": 100, "duration_s": 0.5},
    # 3 good pull, retry (previous good-or-bad pull of 10.0.0.1 a/app v1 was #2, bad, 30 s earlier)
    {"ts": at(40), "client_ip": "10.0.0.1", "status": 200, "bytes_sent": 1000, "duration_s": 0.3},
    # 4 bad pull (429), first (another client)
    {"ts": at(50), "client_ip": "10.0.0.2", "status": 429},
    # 5 good pull, first: #4 was bad but 150 s earlier (> 60 s)
    {"ts": at(200), "client_ip": "10.0.0.2", "status": 200, "bytes_sent": 1000, "duration_s": 0.2},
    # 6 bad pull (nginx 499), first
    {"ts": at(60), "client_ip": "10.0.0.3", "status": 499},
    # 7 excluded pull (404), a retry of #6 (10 s)
    {"ts": at(70), "client_ip": "10.0.0.3", "status": 404},
    # 8 good pull, retry: the previous good-or-bad pull is #6 (bad, 20 s); #7 is excluded
    {"ts": at(80), "client_ip": "10.0.0.3", "status": 200, "bytes_sent": 1000, "duration_s": 0.4},
    # 9 HEAD of a manifest: not a pull, no egress
    {"ts": at(90), "client_ip": "10.0.0.4", "method": "HEAD", "status": 200, "bytes_sent": 1000},
    # 10-13 blob GETs: egress 5000 + 3000 (206) + 2000; 304 is no egress; cache HIT, MISS, EXPIRED count
    {"ts": at(100), "client_ip": "10.0.0.4", "route": "blob", "reference": None, "status": 200,
     "bytes_sent": 5000, "cache_status": "HIT"},
    {"ts": at(110), "client_ip": "10.0.0.4", "route": "blob", "reference": None, "status": 206,
     "bytes_sent": 3000, "cache_status": "MISS"},
    {"ts": at(120), "client_ip": "10.0.0.4", "route": "blob", "reference": None, "status": 304,
     "bytes_sent": 0, "cache_status": "EXPIRED"},
    {"ts": at(130), "client_ip": "10.0.0.4", "route": "blob", "reference": None, "status": 200,
     "bytes_sent": 2000, "cache_status": "BYPASS"},
    # 14 excluded pull (401): an auth failure
    {"ts": at(140), "client_ip": "10.0.0.5", "status": 401},
    # 15 ping refused (401): an auth failure, not a pull
    {"ts": at(150), "client_ip": "10.0.0.5", "route": "ping", "repository": None, "reference": None,
     "status": 401},
    # 16-17 pushes: one good (201), one bad (500)
    {"ts": at(160), "method": "PUT", "reference": "v2", "status": 201},
    {"ts": at(170), "method": "PUT", "reference": "v3", "status": 500},
    # 18 good pull in region eu of another repository, first
    {"ts": at(180), "region": "eu", "client_ip": "10.0.0.6", "repository": "b/lib", "status": 200,
     "bytes_sent": 500, "duration_s": 1.0},
    # 19 excluded pull (403) in eu: an auth failure
    {"ts": at(190), "region": "eu", "client_ip": "10.0.0.6", "repository": "b/lib", "status": 403},
]  # fmt: skip
