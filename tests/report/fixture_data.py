"""A hand-built week of registry logs and probes (2026-W47) whose report figures are computed by hand.

Week (2026-11-16 00:00, 2026-11-23 00:00] UTC, registry ``main``:

- us-east-1, every day d = 0..6: 10 good pulls of platform/base at 10:00:00+k s (durations 0.1..1.0 s,
  so p95 = 0.955 s), each a 1000-byte manifest plus a (1 GiB - 1000)-byte blob: exactly 1 GiB per pull.
  Wednesday 10:30:00 + 15 s x j, j = 0..39: 40 bad pulls (j < 30: 503, else 429), the incident.
  Wednesday: 2 token requests refused 401.
- eu-west-1, every day: 5 good pulls of team/app at 11:00:00+k s (0.2 s), 0.5 GiB each, plus one at
  exactly 2026-11-23 00:00:00 (the period is (lo, hi]: it belongs to Sunday). Monday: 3 token 401s;
  Friday: one manifest GET refused 403 (an excluded pull).
- previous week: us-east-1 8 good pulls a day (1 GiB each), and one at exactly 2026-11-16 00:00:00.
- probes at 12:00 each day: us-east-1/anonymous all success; us-east-1/ci-robot fails 'unauthorized'
  on Thursday; eu-west-1/anonymous success, 2.5 s on Saturday. eu-west-1/ci-robot is never probed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from regwatch.config import Config, parse_config
from regwatch.store import Store

WEEK = "2026-W47"
MONDAY = datetime(2026, 11, 16)
GIB = 1 << 30

CONFIG_YAML = """
registries:
  - name: main
    regions:
      - {name: us-east-1, url: "http://127.0.0.1:1"}
      - {name: eu-west-1, url: "http://127.0.0.1:2"}
    auth_paths:
      - name: anonymous
      - {name: ci-robot, username: robot, password_env: REGWATCH_TEST_ROBOT_PASSWORD}
    canaries:
      - {repository: platform/canary, reference: v1}
slos:
  - {name: log-pull-success, sli: pull_success, source: logs, objective: 0.99, window: 7d}
  - {name: pull-availability, sli: pull_success, source: probes, objective: 0.999, window: 30d}
  - {name: pull-latency, sli: pull_latency, source: probes, objective: 0.95, window: 7d, threshold_seconds: 2}
egress:
  usd_per_gib: {default: 0.09, eu-west-1: 0.085}
"""

REQUEST_COLUMNS = (
    "ts", "registry", "region", "source", "line", "client_ip", "user", "method", "route", "repository",
    "reference", "digest", "status", "bytes_sent", "duration_s", "user_agent", "request_id",
)  # fmt: skip


def config() -> Config:
    """The fixture's config."""
    return parse_config(CONFIG_YAML, "fixture.yaml")


def _pull(rows: list[tuple[Any, ...]], ts: datetime, region: str, repo: str, status: int, per_pull: int,
          duration: float, client: str) -> None:  # fmt: skip
    n = len(rows)
    ok = status == 200
    rows.append((ts, "main", region, "fixture.log", n, client, None, "GET", "manifest", repo, "v1",
                 "sha256:" + "a" * 64 if ok else None, status, 1000 if ok else 0, duration, "containerd/1.7",
                 f"req-{n}"))  # fmt: skip
    if ok:
        rows.append((ts, "main", region, "fixture.log", n + 1, client, None, "GET", "blob", repo,
                     "sha256:" + "b" * 64, "sha256:" + "b" * 64, 200, per_pull - 1000, duration, "containerd/1.7",
                     f"req-{n + 1}"))  # fmt: skip


def requests_rows() -> list[tuple[Any, ...]]:
    """Every request row of the fixture."""
    rows: list[tuple[Any, ...]] = []
    for d in range(7):
        day = MONDAY + timedelta(days=d)
        for k in range(10):
            _pull(rows, day + timedelta(hours=10, seconds=k), "us-east-1", "platform/base", 200, GIB,
                  round(0.1 * (k + 1), 1), f"10.0.0.{k}")  # fmt: skip
        for k in range(5):
            _pull(rows, day + timedelta(hours=11, seconds=k), "eu-west-1", "team/app", 200, GIB // 2, 0.2,
                  f"10.1.0.{k}")  # fmt: skip
        prev = day - timedelta(days=7)
        for k in range(8):
            _pull(rows, prev + timedelta(hours=10, seconds=k), "us-east-1", "platform/base", 200, GIB, 0.1,
                  f"10.0.0.{k}")  # fmt: skip
    wednesday = MONDAY + timedelta(days=2)
    for j in range(40):
        _pull(rows, wednesday + timedelta(hours=10, minutes=30, seconds=15 * j), "us-east-1", "platform/base",
              503 if j < 30 else 429, GIB, 5.0, "10.0.9.9")  # fmt: skip
    _pull(rows, MONDAY + timedelta(days=7), "eu-west-1", "team/app", 200, GIB // 2, 0.2, "10.1.0.9")
    _pull(rows, MONDAY, "us-east-1", "platform/base", 200, GIB, 0.1, "10.0.0.9")
    for region, day, status, route, count in (
        ("us-east-1", 2, 401, "token", 2),
        ("eu-west-1", 0, 401, "token", 3),
        ("eu-west-1", 4, 403, "manifest", 1),
    ):
        for k in range(count):
            n = len(rows)
            rows.append((MONDAY + timedelta(days=day, hours=9, seconds=k), "main", region, "fixture.log", n,
                         "10.2.0.1", "mallory", "GET", route, "team/app", "v1", None, status, 0, 0.01,
                         "curl/8", f"req-{n}"))  # fmt: skip
    return rows


def probe_rows() -> list[dict[str, Any]]:
    """Every probe_results row of the fixture."""
    rows = []
    for d in range(7):
        ts = MONDAY + timedelta(days=d, hours=12)
        for region, auth, manifest_s in (
            ("us-east-1", "anonymous", 0.05),
            ("us-east-1", "ci-robot", 0.05),
            ("eu-west-1", "anonymous", 0.08),
        ):
            fail = auth == "ci-robot" and d == 3
            rows.append({
                "ts": ts, "kind": "pull", "round_id": f"r{d}", "registry": "main", "region": region,
                "auth_path": auth, "canary": "platform/canary:v1", "repository": "platform/canary",
                "reference": "v1", "result": "failure" if fail else "success",
                "reason": "unauthorized" if fail else None, "status": 401 if fail else 200,
                "bytes": 0 if fail else 61440,
                "duration_s": 2.5 if (region == "eu-west-1" and d == 5) else 0.5,
                "manifest_s": None if fail else manifest_s,
            })  # fmt: skip
    return rows


def populate(store: Store) -> None:
    """Insert the fixture's rows into an open (writable) store."""
    cols = ", ".join(f'"{c}"' for c in REQUEST_COLUMNS)
    marks = ", ".join("?" for _ in REQUEST_COLUMNS)
    store.conn.executemany(f"INSERT INTO requests ({cols}) VALUES ({marks})", requests_rows())
    for row in probe_rows():
        names = ", ".join(row)
        store.execute(
            f"INSERT INTO probe_results ({names}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
        )
    store.execute(
        "INSERT INTO audit_events (event_id, ts, action, registry, region, repository, tag, digest, actor) VALUES "
        "('ev-1', ?, 'push', 'main', 'us-east-1', 'platform/base', 'v1', ?, 'ci'),"
        "('ev-2', ?, 'pull', 'main', 'us-east-1', 'platform/base', 'v1', ?, 'alice')",
        [
            MONDAY + timedelta(hours=8),
            "sha256:" + "a" * 64,
            MONDAY + timedelta(hours=8, minutes=1),
            "sha256:" + "a" * 64,
        ],
    )
