"""Benchmark: 50 concurrent scrapers for 10 s against ``regwatch serve`` exposing ~2,000 series.

    .venv/bin/python benchmarks/bench_serve.py [--scrapers 50] [--seconds 10] [--series 2000]

The store is filled with log rows whose failures spread over many repositories, so that the
exporter's ``regwatch_log_repository_failures_total`` (capped at serve.max_series_per_metric) and the
other families add up to about ``--series`` series. ``regwatch serve`` runs as a subprocess; the
scrapers run in several processes (so the client's GIL does not skew the latencies), each thread
with one keep-alive connection asking for gzip like Prometheus does. Prints every status seen and the
latency percentiles; never fails on time.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servekit import start_serve  # noqa: E402

from regwatch.store import connect  # noqa: E402

# Fills the store: `n` repositories with one 500 each (bad requests by repository), plus a spread of
# routes and codes. Parameters: repository count.
FILL_SQL = """
INSERT INTO requests (ts, registry, region, source, route, repository, method, status, bytes_sent)
SELECT TIMESTAMP '2026-11-20 10:00:00' + to_seconds(i), 'prod', 'eu', 'bench.log', 'manifest',
       'team-' || (i % 97) || '/app-' || i, 'GET', 500, 0
FROM range(?) t(i)
"""


def count_series(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def scraper_process(port: int, threads: int, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    import threading

    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def loop() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        codes: dict[int, int] = {}
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip", "Accept": "text/plain"})
                resp = conn.getresponse()
                resp.read()
                codes[resp.status] = codes.get(resp.status, 0) + 1
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            lat.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((lat, statuses, errors))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scrapers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--processes", type=int, default=5, help="client processes the scrapers are spread over")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        db = work / "regwatch.duckdb"
        # ~30 series come from the process, GC, build and serve's own families
        repos = max(args.series - 30, 1)
        with connect(str(db)) as store:
            store.execute(FILL_SQL, [repos])
        cfg = {"serve": {"max_series_per_metric": 2000, "slo_interval_seconds": 3600}}
        serve = start_serve(work, cfg, db_path=db)
        try:
            deadline = time.monotonic() + 60
            while True:
                body = serve.metrics_text()
                n = count_series(body)
                if "regwatch_log_repository_failures_total{" in body or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            print(f"series exposed: {n} ({len(body.encode())} bytes uncompressed)")
            per = [args.scrapers // args.processes + (1 if i < args.scrapers % args.processes else 0)
                   for i in range(args.processes)]  # fmt: skip
            q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            procs = [
                mp.Process(target=scraper_process, args=(serve.port, k, args.seconds, q)) for k in per if k
            ]
            t0 = time.monotonic()
            for p in procs:
                p.start()
            results = [q.get(timeout=args.seconds + 120) for _ in procs]
            for p in procs:
                p.join()
            wall = time.monotonic() - t0
            lat = sorted(v for r in results for v in r[0])
            statuses: dict[int, int] = {}
            errors = [e for r in results for e in r[2]]
            for r in results:
                for k, v in r[1].items():
                    statuses[k] = statuses.get(k, 0) + v
            total = sum(statuses.values())
            print(
                f"scrapers: {args.scrapers} over {len(procs)} processes, {args.seconds:g} s (wall {wall:.1f} s)"
            )
            print(f"responses: {total} ({total / args.seconds:.0f}/s); statuses: {dict(sorted(statuses.items()))}; "
                  f"connection errors: {len(errors)}")  # fmt: skip
            print(f"all 200: {statuses.keys() == {200} and not errors}")
            print(
                "latency ms: p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  max {:.1f}".format(
                    *(1000 * percentile(lat, p) for p in (50, 90, 99)),
                    1000 * (lat[-1] if lat else float("nan")),
                )
            )
            print(f"p99 under 100 ms: {percentile(lat, 99) < 0.1}")
        finally:
            rc = serve.stop()
            print(f"serve exit code after SIGTERM: {rc}")


if __name__ == "__main__":
    main()
