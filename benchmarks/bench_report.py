"""Benchmark: render the weekly report over a week of 10 million logged requests (target: < 10 s).

The week is generated inside DuckDB (range() and random(), no Python loops): 3 regions, 500
repositories, ~20k clients, 97% good pulls and blobs, auth failures, 404s, and a 20-minute burst of
503s in one region; plus a probe round every minute (3 regions x 3 auth paths). Prints timings;
never fails on time.

    .venv/bin/python benchmarks/bench_report.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from regwatch.config import parse_config
from regwatch.report import build_report, render, week_period
from regwatch.store import connect

WEEK = "2026-W47"
START = "2026-11-16 00:00:00"

CONFIG = """
registries:
  - name: main
    regions:
      - {name: us-east-1, url: "http://127.0.0.1:1"}
      - {name: eu-west-1, url: "http://127.0.0.1:2"}
      - {name: ap-south-1, url: "http://127.0.0.1:3"}
    auth_paths:
      - name: anonymous
      - {name: ci-robot, username: robot, password_env: BENCH_PASSWORD}
      - {name: token-service, username: puller, password_env: BENCH_PASSWORD}
slos:
  - {name: log-pull-success, sli: pull_success, source: logs, objective: 0.995, window: 7d}
  - {name: log-first-attempt, sli: first_attempt_success, source: logs, objective: 0.99, window: 7d}
  - {name: pull-availability, sli: pull_success, source: probes, objective: 0.999, window: 30d}
  - {name: pull-latency, sli: pull_latency, source: probes, objective: 0.95, window: 30d, threshold_seconds: 2}
egress:
  usd_per_gib: {default: 0.09, eu-west-1: 0.085}
"""

# -- A week of synthetic requests: row i at START + i * (week / n) seconds. Params: $n, $start.
REQUESTS = """
INSERT INTO requests
SELECT
    ts, 'main', region, 'bench.log', i, client_ip, CASE WHEN u < 0.3 THEN 'robot' END, 'GET', route,
    CASE WHEN route = 'token' THEN NULL ELSE 'team-' || (i * 7919 % 500) || '/app' END,
    CASE WHEN route = 'blob' THEN 'sha256:' || md5(i::VARCHAR) ELSE 'v' || (i % 20) END,
    NULL,
    status,
    CASE WHEN status IN (200, 206) THEN CASE WHEN route = 'blob' THEN (r * 50000000)::BIGINT ELSE 1500 END ELSE 0 END,
    round(0.02 + r * r * 1.5, 4),
    'containerd/1.7', 'req-' || i, NULL
FROM (
    SELECT
        i,
        $start::TIMESTAMP + to_microseconds((i * (604800000000 // $n))::BIGINT) AS ts,
        ['us-east-1', 'eu-west-1', 'ap-south-1'][1 + i % 3] AS region,
        '10.' || (i * 31 % 80) || '.' || (i * 17 % 250) || '.' || (i % 3) AS client_ip,
        random() AS u,
        random() AS r,
        CASE WHEN i % 20 = 0 THEN 'token' WHEN i % 20 < 8 THEN 'manifest' ELSE 'blob' END AS route,
        random() AS s
    FROM range($n) AS t(i)
) AS g,
LATERAL (
    SELECT CASE
        -- Wednesday 14:00-14:20 in eu-west-1: most requests fail
        WHEN region = 'eu-west-1' AND ts >= $start::TIMESTAMP + INTERVAL '2 days 14 hours'
             AND ts < $start::TIMESTAMP + INTERVAL '2 days 14 hours 20 minutes' AND s < 0.95 THEN 503
        WHEN route = 'token' AND s < 0.05 THEN 401
        WHEN s < 0.003 THEN 503
        WHEN s < 0.005 THEN 429
        WHEN s < 0.015 THEN 404
        ELSE 200
    END AS status
) AS st
"""

# -- A probe round every minute: 3 regions x 3 auth paths. Params: $start.
PROBES = """
INSERT INTO probe_results (ts, kind, round_id, registry, region, auth_path, canary, repository, reference,
                           result, reason, status, bytes, duration_s, manifest_s)
SELECT ts, 'pull', 'r' || m, 'main', region, auth_path, 'platform/canary:v1', 'platform/canary', 'v1',
       CASE WHEN fail THEN 'failure' ELSE 'success' END,
       CASE WHEN fail THEN 'server_error' END, CASE WHEN fail THEN 503 ELSE 200 END,
       61440, 0.2 + random(), 0.02 + random() / 20
FROM (
    SELECT m, region, auth_path, $start::TIMESTAMP + to_minutes(m) + INTERVAL 30 SECOND AS ts, random() < 0.002 AS fail
    FROM range(10080) AS t(m),
         (VALUES ('us-east-1'), ('eu-west-1'), ('ap-south-1')) AS r(region),
         (VALUES ('anonymous'), ('ci-robot'), ('token-service')) AS a(auth_path)
)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="requests in the week")
    parser.add_argument("--db", default=None, help="keep the generated store here (reused when it exists)")
    args = parser.parse_args()
    cfg = parse_config(CONFIG, "bench.yaml")
    with tempfile.TemporaryDirectory(prefix="regwatch-bench-") as tmp:
        db = args.db or str(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        with connect(db) as store:
            if not store.fetchall("SELECT count(*) FROM requests")[0][0]:
                store.execute(REQUESTS, {"n": args.rows, "start": START})
                store.execute(PROBES, {"start": START})
            n = store.fetchall("SELECT count(*) FROM requests")[0][0]
            p = store.fetchall("SELECT count(*) FROM probe_results")[0][0]
        print(f"store of {n:,} requests and {p:,} probe results ready in {time.perf_counter() - t0:.1f} s")
        with connect(db, read_only=True) as store:
            period = week_period(WEEK)
            store.execute("SET enable_progress_bar = false")
            c1 = time.process_time()
            t1 = time.perf_counter()
            report = build_report(store, cfg, period)
            t2 = time.perf_counter()
            html = render(report, "html")
            md = render(report, "md")
            t3 = time.perf_counter()
            cpu = time.process_time() - c1
        print(
            f"gather: {t2 - t1:.2f} s; render html ({len(html):,} bytes) + md ({len(md):,} bytes): {t3 - t2:.2f} s"
        )
        print(f"report over {n:,} requests: {t3 - t1:.2f} s wall, {cpu:.2f} s CPU (target < 10 s wall)")
        print(
            f"load average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
        )
        print(f"incidents: {len(report['incidents'])}: " + "; ".join(
            f"{i['slo']} {i['start']:%a %H:%M}-{i['end']:%H:%M} bad={i['bad']}" for i in report["incidents"]
        ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
