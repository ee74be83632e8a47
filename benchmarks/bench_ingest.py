"""Benchmark ``regwatch ingest`` on a generated distribution log (>= 1 GB, JSON formatter + access lines).

    python benchmarks/bench_ingest.py [--size-mb 1100] [--threads 2] [--keep]

Prints the bare DuckDB ``read_json`` scan of the same file next to the end-to-end ingest
(parse, merge, dedupe, insert): lines/s, seconds and peak RSS. Never fails on time.
The generated file lives in /tmp and is deleted afterwards (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

GO_VERSION = "go1.19.8"
HOST = "registry.example.internal:5000"
AGENTS = ["docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64", "skopeo/1.9.3",
          "containerd/v1.7.2", "curl/7.88.1", "Go-http-client/1.1"]  # fmt: skip
REPOS = [f"team{i}/service-{j}" for i in range(12) for j in range(8)]


def _digest(rng: random.Random) -> str:
    return "sha256:" + "%064x" % rng.getrandbits(256)


def _json_line(fields: dict[str, object]) -> str:
    # logrus sorts keys; hand-rolled for speed (values never need escaping here)
    parts = []
    for k in sorted(fields):
        v = fields[k]
        parts.append(f'"{k}":{v}' if isinstance(v, int) else f'"{k}":"{v}"')
    return "{" + ",".join(parts) + "}"


def _go_duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f}".rstrip("0").rstrip(".") + "µs"
    if seconds < 1:
        return f"{seconds * 1e3:.6f}".rstrip("0").rstrip(".") + "ms"
    if seconds < 60:
        return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"
    return f"{int(seconds // 60)}m" + f"{seconds % 60:.9f}".rstrip("0").rstrip(".") + "s"


def request_lines(rng: random.Random, t: datetime) -> list[str]:
    """The lines distribution 2.8 prints for one request (JSON formatter + access log)."""
    r = rng.random()
    repo = rng.choice(REPOS)
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    addr = f"{ip}:{rng.randrange(1024, 65535)}"
    ua = rng.choice(AGENTS)
    rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    base = {"go.version": GO_VERSION, "http.request.host": HOST, "http.request.id": rid,
            "http.request.remoteaddr": addr, "http.request.useragent": ua}  # fmt: skip
    if r < 0.05:  # refused authentication: a warning and the access line, no "response completed"
        method, uri = "GET", "/v2/"
        warn = dict(base, **{"http.request.method": method, "http.request.uri": uri, "level": "warning",
                    "msg": "error authorizing context: authorization token required",
                    "time": t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"})  # fmt: skip
        return [_json_line(warn), _access(ip, t, method, uri, 401, 87, ua)]
    if r < 0.65:
        method, uri, status, size = (rng.choice(("GET", "GET", "HEAD")), f"/v2/{repo}/blobs/{_digest(rng)}",
                                     200, rng.randrange(1000, 50_000_000))  # fmt: skip
        extra = {"vars.digest": uri.rsplit("/", 1)[1], "vars.name": repo}
    elif r < 0.88:
        method, uri, status, size = (rng.choice(("GET", "HEAD")), f"/v2/{repo}/manifests/v{rng.randrange(40)}",
                                     200, rng.randrange(500, 4000))  # fmt: skip
        extra = {"vars.name": repo, "vars.reference": uri.rsplit("/", 1)[1]}
    elif r < 0.94:
        method, uri, status, size = "GET", f"/v2/{repo}/manifests/missing-{rng.randrange(9)}", 404, 94
        extra = {"vars.name": repo, "vars.reference": uri.rsplit("/", 1)[1]}
    elif r < 0.98:
        method, uri, status, size = rng.choice(("POST", "PATCH", "PUT")), f"/v2/{repo}/blobs/uploads/", 202, 0
        extra = {"vars.name": repo}
    else:
        method, uri, status, size = "GET", f"/v2/{repo}/tags/list", 200, rng.randrange(40, 900)
        extra = {"vars.name": repo}
    dur = rng.expovariate(1 / 0.03) if status != 404 else rng.expovariate(1 / 0.004)
    end = t + timedelta(seconds=dur)
    stamp = end.strftime("%Y-%m-%dT%H:%M:%S.%f") + "417Z"
    auth = dict(base, **{"http.request.method": method, "http.request.uri": uri, "level": "info",
                "msg": "authorized request", "time": t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "031Z"}, **extra)  # fmt: skip
    done = dict(base, **{"http.request.method": method, "http.request.uri": uri,
                "http.response.duration": _go_duration(dur), "http.response.status": status,
                "http.response.written": size, "time": stamp}, **extra)  # fmt: skip
    if status >= 400:
        done.update({"auth.user.name": "robot", "err.code": "manifest unknown", "err.message": "manifest unknown",
                     "level": "error", "msg": "response completed with error"})  # fmt: skip
    else:
        done.update({"level": "info", "msg": "response completed"})
        if rng.random() < 0.5:
            done["http.response.contenttype"] = "application/octet-stream"
    return [_json_line(auth), _json_line(done), _access(ip, t, method, uri, status, size, ua)]


def _access(ip: str, t: datetime, method: str, uri: str, status: int, size: int, ua: str) -> str:
    return f'{ip} - - [{t.strftime("%d/%b/%Y:%H:%M:%S")} +0000] "{method} {uri} HTTP/1.1" {status} {size} "" "{ua}"'


def generate(path: Path, target_bytes: int, seed: int = 7) -> tuple[int, int]:
    """Write a distribution log of about ``target_bytes``; return (lines, requests)."""
    rng = random.Random(seed)
    t = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    lines = requests = 0
    written = 0
    start = _json_line({"go.version": GO_VERSION, "level": "info", "msg": "listening on [::]:5000",
                        "time": "2026-11-02T00:00:00.000000001Z"})  # fmt: skip
    with open(path, "w", encoding="utf-8", buffering=1 << 22) as fh:
        buf = [start]
        while written < target_bytes:
            for _ in range(2000):
                t += timedelta(microseconds=rng.randrange(200, 4000))
                buf.extend(request_lines(rng, t))
                requests += 1
            text = "\n".join(buf) + "\n"
            fh.write(text)
            written += len(text.encode())
            lines += len(buf)
            buf = []
    return lines, requests


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _bare_scan(path: Path, threads: int) -> float:
    import duckdb

    conn = duckdb.connect()
    conn.execute(f"SET threads = {int(threads)}")
    t0 = time.perf_counter()
    conn.execute(
        "SELECT count(*), count(\"http.request.id\") FROM read_json(?, format='newline_delimited', "
        "ignore_errors=true, columns={'http.request.id': 'VARCHAR', 'msg': 'VARCHAR'})",
        [str(path)],
    ).fetchall()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(Path(args.child), args.threads)
        return

    tmp = Path(tempfile.mkdtemp(prefix="regwatch-bench-", dir="/tmp"))
    log = tmp / "registry.log"
    try:
        t0 = time.perf_counter()
        lines, requests = generate(log, args.size_mb * 1024 * 1024)
        size = log.stat().st_size
        print(f"generated {log}: {size / 1e9:.2f} GB, {lines:,} lines, {requests:,} requests "
              f"in {time.perf_counter() - t0:.1f}s")  # fmt: skip
        # each measurement in its own process so peak RSS is its own
        for mode in ("bare", "ingest"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(log), "--threads", str(args.threads)],
                env=dict(os.environ, REGWATCH_BENCH_MODE=mode), capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            print(out.rstrip())
    finally:
        if not args.keep:
            for p in tmp.iterdir():
                p.unlink()
            tmp.rmdir()


def _child(log: Path, threads: int) -> None:
    mode = os.environ.get("REGWATCH_BENCH_MODE", "ingest")
    lines = sum(1 for _ in open(log, "rb")) if mode == "bare" else None
    if mode == "bare":
        secs = _bare_scan(log, threads)
        print(f"bare read_json scan : {secs:7.2f}s  {lines / secs:12,.0f} lines/s  "
              f"peak RSS {peak_rss_mb():6.0f} MB")  # fmt: skip
        return
    from regwatch.ingest import IngestSpec, ingest
    from regwatch.store import open_store

    db = log.with_suffix(".duckdb")
    with open_store(str(db)) as store:
        store.execute(f"SET threads = {int(threads)}")
        t0 = time.perf_counter()
        (rep,) = ingest(store, [IngestSpec(path=str(log), format="distribution")])
        secs = time.perf_counter() - t0
        rows = store.fetchall("SELECT count(*) FROM requests")[0][0]
    total = rep.accepted + rep.ignored + rep.rejected
    print(f"regwatch ingest     : {secs:7.2f}s  {total / secs:12,.0f} lines/s  peak RSS {peak_rss_mb():6.0f} MB"
          f"  ({rows:,} request rows; accepted {rep.accepted:,} ignored {rep.ignored:,} "
          f"rejected {rep.rejected:,})")  # fmt: skip
    db.unlink()
    Path(str(db) + ".wal").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
