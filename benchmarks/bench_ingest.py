"""Benchmark ``regwatch ingest`` on a generated distribution log (>= 1 GB, 3M+ lines).

    python benchmarks/bench_ingest.py [--size-mb 1024] [--lines 3100000] [--threads 2] [--keep] [--log FILE]
                                      [--stages] [--formatter json|text] [--nginx] [--repeat N]

The log is what distribution 2.8 (JSON formatter) prints behind a Kubernetes service: per request an
"authorized request" record, a "response completed" record and a combined access line; refused
authentication (a warning and a 401 access line); kubelet health checks of ``/`` (an access line
only). Each measurement runs in its own process, so its peak RSS is its own:

- bare scan: DuckDB alone reading the file with ``read_json`` (newline-delimited, errors ignored);
- straightforward pipeline: the one issue 4 measures against: ``read_json`` for the completion
  records, one ``regexp_extract`` for the access lines, each written to a table of a fresh DuckDB
  file; no line numbers, byte checks, pairing, dedupe, routes or rejects;
- ingest: ``regwatch.ingest.ingest`` into a fresh store file: feed (line count ahead, byte checks), parse, merge, dedupe,
  insert, state, commit.

Prints seconds, lines/s (wall clock) and CPU seconds, peak RSS and the ratios of the ingest to the bare
scan and to the straightforward pipeline;
with ``--stages``, also where the ingest's time went: the feed plan and each SQL statement over
0.05 s. With ``--repeat N``, the measurements are taken N times in turn (this shared host's speed
swings by a third within minutes, and a slow spell then hits every pipeline alike) and their medians
and ranges printed, with the range of the ingest's ratios within a round. Never fails on time.
The generated file lives in /tmp and is deleted afterwards (unless ``--keep``).

``--formatter text`` writes the same records as logrus' text formatter prints them (the registry's
default) and times the ingest alone: the bare scan and the straightforward pipeline read JSON.
``--nginx`` also times the ingest of the log's access lines alone, read as an nginx ``combined`` log
(what nginx in front of the registry would write).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GO_VERSION = "go1.19.8"
HOST = "registry.example.internal:5000"
# (user agent, weight): Kubernetes nodes pull with containerd, people and CI with docker
AGENTS = [
    ("containerd/v1.7.2", 45),
    ("docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64", 25),
    ("skopeo/1.9.3", 10),
    ("Go-http-client/1.1", 10),
    ("curl/7.88.1", 10),
]
REPOS = [f"team{i}/service-{j}" for i in range(12) for j in range(8)]
PROBE_SHARE = 0.06  # kubelet liveness/readiness checks of "/": one access line each
REFUSED_SHARE = 0.05  # anonymous pings refused with 401


def _digest(rng: random.Random) -> str:
    return f"sha256:{rng.getrandbits(256):064x}"


def _json_line(fields: Mapping[str, object]) -> str:
    """A logrus JSON record (keys sorted, as logrus writes them; values here never need escaping)."""
    return (
        "{"
        + ",".join(f'"{k}":{v}' if isinstance(v, int) else f'"{k}":"{v}"' for k, v in sorted(fields.items()))
        + "}"
    )


_BARE = re.compile(r"[a-zA-Z0-9\-._/@^+]+")  # what logrus' text formatter writes without quotes


def _text_line(fields: Mapping[str, object]) -> str:
    """A logrus text record: time, level and msg first, then the other keys sorted; a value is quoted
    (Go's %q; these values never need escapes) unless it is a number or only holds safe characters."""
    rest = dict(fields)
    head = [(k, rest.pop(k)) for k in ("time", "level", "msg")]
    return " ".join(
        f"{k}={v}"
        if isinstance(v, int) or _BARE.fullmatch(str(v))
        else f"{k}={json.dumps(v, ensure_ascii=False)}"
        for k, v in head + sorted(rest.items())
    )


def _go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for a positive duration."""
    ns = max(1, round(seconds * 1e9))
    if ns < 1_000:
        return f"{ns}ns"
    for div, unit in ((1_000, "µs"), (1_000_000, "ms")):
        if ns < div * 1000:
            whole, frac = divmod(ns, div)
            digits = len(str(div)) - 1
            return f"{whole}" + (f".{frac:0{digits}d}".rstrip("0").rstrip(".")) + unit
    s, frac = divmod(ns, 1_000_000_000)
    m, s = divmod(s, 60)
    return (f"{m}m" if m else "") + f"{s}" + f".{frac:09d}".rstrip("0").rstrip(".") + "s"


def _access(ip: str, t: datetime, method: str, uri: str, status: int, size: int, ua: str) -> str:
    return f'{ip} - - [{t.strftime("%d/%b/%Y:%H:%M:%S")} +0000] "{method} {uri} HTTP/1.1" {status} {size} "" "{ua}"'


def request_lines(
    rng: random.Random, t: datetime, record: Callable[[Mapping[str, object]], str] = _json_line
) -> tuple[list[str], bool]:
    """The lines distribution 2.8 prints for one event (``record`` writes a logrus record); and whether
    it is a registry request."""
    r = rng.random()
    if r < PROBE_SHARE:  # kubelet health check of "/": the access log only
        return [_access(f"10.42.{rng.randrange(4)}.1", t, "GET", "/", 200, 0, "kube-probe/1.28")], False
    repo = rng.choice(REPOS)
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    addr = f"{ip}:{rng.randrange(1024, 65535)}"
    ua = rng.choices([a for a, _ in AGENTS], [w for _, w in AGENTS])[0]
    rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    base = {"go.version": GO_VERSION, "http.request.host": HOST, "http.request.id": rid,
            "http.request.remoteaddr": addr, "http.request.useragent": ua}  # fmt: skip
    if r < PROBE_SHARE + REFUSED_SHARE:  # refused authentication: a warning and the access line
        method, uri = "GET", "/v2/"
        warn = dict(base, **{"http.request.method": method, "http.request.uri": uri, "level": "warning",
                    "msg": "error authorizing context: authorization token required",
                    "time": t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"})  # fmt: skip
        return [record(warn), _access(ip, t, method, uri, 401, 87, ua)], True
    r = rng.random()
    if r < 0.62:
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
    auth = dict(base, **{"http.request.method": method, "http.request.uri": uri, "level": "info",
                "msg": "authorized request", "time": t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "031Z"}, **extra)  # fmt: skip
    done = dict(base, **{"http.request.method": method, "http.request.uri": uri,
                "http.response.duration": _go_duration(dur), "http.response.status": status,
                "http.response.written": size, "time": end.strftime("%Y-%m-%dT%H:%M:%S.%f") + "417Z"},
                **extra)  # fmt: skip
    if status >= 400:
        done.update({"auth.user.name": "robot", "err.code": "manifest unknown", "err.message": "manifest unknown",
                     "level": "error", "msg": "response completed with error"})  # fmt: skip
    else:
        done.update({"level": "info", "msg": "response completed"})
        if rng.random() < 0.5:
            done["http.response.contenttype"] = "application/octet-stream"
    return [record(auth), record(done), _access(ip, t, method, uri, status, size, ua)], True


def generate(
    path: Path, target_bytes: int, min_lines: int = 0, seed: int = 7, formatter: str = "json"
) -> tuple[int, int]:
    """Write a distribution log of at least ``target_bytes`` and ``min_lines``; return (lines, request rows)."""
    rng = random.Random(seed)
    record = _text_line if formatter == "text" else _json_line
    t = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    lines = rows = written = 0
    start = record({"go.version": GO_VERSION, "level": "info", "msg": "listening on [::]:5000",
                    "time": "2026-11-02T00:00:00.000000001Z"})  # fmt: skip
    with open(path, "wb") as fh:
        buf = [start]
        while written < target_bytes or lines < min_lines:
            for _ in range(5000):
                t += timedelta(microseconds=rng.randrange(100, 2000))
                got, _ = request_lines(rng, t, record)
                buf.extend(got)
                rows += 1  # every event is one request row (a health check too: its access line)
            data = ("\n".join(buf) + "\n").encode()
            fh.write(data)
            written += len(data)
            lines += len(buf)
            buf = []
    return lines, rows


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bare_scan(log: Path, threads: int) -> dict[str, float]:
    import duckdb

    conn = duckdb.connect()
    conn.execute(f"SET threads = {int(threads)}")
    t0, c0 = time.perf_counter(), time.process_time()
    conn.execute(
        "SELECT count(*), count(\"http.request.id\") FROM read_json(?, format = 'newline_delimited', "
        "ignore_errors = true, columns = {'http.request.id': 'VARCHAR', 'msg': 'VARCHAR'})",
        [str(log)],
    ).fetchall()
    return {"secs": time.perf_counter() - t0, "cpu": time.process_time() - c0, "rss_mb": _rss_mb()}


# The straightforward pipeline (see the module docstring): its JSON columns and its access-line regex.
_STRAIGHT_COLUMNS = {
    "time": "VARCHAR", "msg": "VARCHAR", "http.request.id": "VARCHAR", "http.request.method": "VARCHAR",
    "http.request.uri": "VARCHAR", "http.request.remoteaddr": "VARCHAR", "http.request.useragent": "VARCHAR",
    "http.response.status": "BIGINT", "http.response.written": "BIGINT", "http.response.duration": "VARCHAR",
}  # fmt: skip
_STRAIGHT_ACCESS = r'^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: \S+)?" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$'


def _straightforward(log: Path, threads: int) -> dict[str, float]:
    import duckdb

    db = log.with_suffix(".straight.duckdb")
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _STRAIGHT_COLUMNS.items()) + "}"
    try:
        conn = duckdb.connect(str(db))
        conn.execute(f"SET threads = {int(threads)}")
        conn.execute("SET preserve_insertion_order = false")
        t0, c0 = time.perf_counter(), time.process_time()
        conn.execute("BEGIN")
        conn.execute(
            'CREATE TABLE done AS SELECT CAST("time" AS TIMESTAMPTZ) AS ts, "http.request.id" AS id, '
            '"http.request.method" AS method, "http.request.uri" AS uri, "http.request.remoteaddr" AS addr, '
            '"http.request.useragent" AS ua, "http.response.status" AS status, "http.response.written" AS written, '
            '"http.response.duration" AS duration '
            f"FROM read_json(?, format = 'newline_delimited', ignore_errors = true, columns = {spec}) "
            "WHERE starts_with(msg, 'response completed')",
            [str(log)],
        )
        conn.execute(
            "CREATE TABLE access AS SELECT x.ip, x.user, strptime(x.ts, '%d/%b/%Y:%H:%M:%S %z') AS ts, x.method, "
            "x.uri, CAST(x.status AS SMALLINT) AS status, TRY_CAST(x.bytes AS BIGINT) AS bytes, x.ua "
            "FROM (SELECT regexp_extract(raw, ?, ['ip', 'user', 'ts', 'method', 'uri', 'status', 'bytes', 'ua']) AS x "
            "      FROM read_csv(?, columns = {'raw': 'VARCHAR'}, delim = '\\x01', quote = '', escape = '', "
            "                    header = false, auto_detect = false, new_line = '\\n', strict_mode = false) "
            "      WHERE NOT starts_with(raw, '{'))",
            [_STRAIGHT_ACCESS, str(log)],
        )
        conn.execute("COMMIT")
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        conn.close()
    finally:
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
    return {"secs": secs, "cpu": cpu, "rss_mb": _rss_mb()}


class _Timed:
    """A DuckDB connection that times its statements (``--stages``)."""

    def __init__(self, conn: Any, times: list[tuple[float, float, str]]) -> None:
        self._conn, self._times = conn, times

    def execute(self, sql: str, *args: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        out = self._conn.execute(sql, *args)
        self._times.append(
            (
                time.perf_counter() - t0,
                time.process_time() - c0,
                " ".join(line for line in sql.split("\n") if not line.lstrip().startswith("--")),
            )
        )
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _ingest(log: Path, threads: int, stages: bool, fmt: str = "distribution") -> dict[str, Any]:
    from regwatch.ingest import IngestSpec, feed, ingest
    from regwatch.store import open_store

    db = log.with_suffix(".duckdb")
    times: list[tuple[float, float, str]] = []
    plan = feed.Feed.plan

    def timed_plan(*args: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        out = plan(*args)
        times.append(
            (time.perf_counter() - t0, time.process_time() - c0, "feed plan: parts cut, lines counted ahead")
        )
        return out

    try:
        with open_store(str(db)) as store:
            store.execute(f"SET threads = {int(threads)}")
            if stages:
                store.conn = _Timed(store.conn, times)  # type: ignore[assignment]
                feed.Feed.plan = timed_plan  # type: ignore[method-assign]
            t0, c0 = time.perf_counter(), time.process_time()
            (rep,) = ingest(store, [IngestSpec(path=str(log), format=fmt)])
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows = store.fetchall("SELECT count(*) FROM requests")[0][0]
    finally:
        feed.Feed.plan = plan  # type: ignore[method-assign]
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
    return {"secs": secs, "cpu": cpu, "rss_mb": _rss_mb(), "rows": rows, "accepted": rep.accepted,
            "ignored": rep.ignored, "rejected": rep.rejected,
            "stages": [(t, c, " ".join(what.split())[:90]) for t, c, what in times if t >= 0.05]}  # fmt: skip


def _child(mode: str, log: Path, threads: int, stages: bool) -> None:
    if mode == "bare":
        out = _bare_scan(log, threads)
    elif mode == "straightforward":
        out = _straightforward(log, threads)
    else:
        out = _ingest(log, threads, stages, "nginx" if mode == "nginx" else "distribution")
    print(json.dumps(out))


def _run_child(mode: str, log: Path, threads: int, stages: bool) -> dict[str, Any]:
    """One measurement in its own process (its peak RSS is its own)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--log", str(log), "--threads", str(threads),
         *(["--stages"] if stages else [])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))


_NAMES = {"bare": "bare read_json scan", "straightforward": "straightforward", "ingest": "regwatch ingest"}


def _print_round(res: Mapping[str, dict[str, Any]], lines: int, rows: int) -> None:
    ing = res["ingest"]
    for mode, r in res.items():
        print(f"{_NAMES[mode]:20s}: {r['secs']:7.2f}s  {lines / r['secs']:12,.0f} lines/s  cpu {r['cpu']:7.2f}s  "
              f"peak RSS {r['rss_mb']:6.0f} MB")  # fmt: skip
    counts = (
        f"{ing['rows']:,} request rows" + (f" of {rows:,} expected" if rows else "")
        + f"; accepted {ing['accepted']:,}, ignored {ing['ignored']:,}, rejected {ing['rejected']:,}"
    )  # fmt: skip
    if "bare" in res:
        print(f"ingest / bare scan  : {ing['secs'] / res['bare']['secs']:.1f}x  ({counts})")
        print(f"ingest / straightforward: {ing['secs'] / res['straightforward']['secs']:.1f}x")
    else:
        print(f"text formatter      : {counts}")


def _print_summary(rounds: list[dict[str, dict[str, Any]]], lines: int) -> None:
    """Median and range of each pipeline over the rounds, and of the ingest's ratios within a round."""
    print(f"over {len(rounds)} rounds (median, range):")
    for mode in rounds[0]:
        secs = [r[mode]["secs"] for r in rounds]
        mid, rss = statistics.median(secs), max(r[mode]["rss_mb"] for r in rounds)
        print(f"{_NAMES[mode]:20s}: {mid:7.2f}s  {lines / mid:12,.0f} lines/s  "
              f"({lines / max(secs):,.0f}-{lines / min(secs):,.0f})  peak RSS {rss:6.0f} MB")  # fmt: skip
    for other in ("bare", "straightforward"):
        if other in rounds[0]:
            ratios = [r["ingest"]["secs"] / r[other]["secs"] for r in rounds]
            print(
                f"{'ingest / ' + other:24s}: {statistics.median(ratios):.1f}x  ({min(ratios):.1f}-{max(ratios):.1f}x)"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1024, help="least size of the generated log (MiB)")
    ap.add_argument("--lines", type=int, default=3_100_000, help="least lines of the generated log")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    ap.add_argument("--log", type=Path, help="use this log instead of generating one")
    ap.add_argument("--stages", action="store_true", help="also print the time of each stage of the ingest")
    ap.add_argument("--formatter", choices=("json", "text"), default="json",
                    help="logrus formatter of the generated log (text: the ingest alone is timed)")  # fmt: skip
    ap.add_argument("--nginx", action="store_true",
                    help="also time the ingest of the log's access lines alone, as an nginx combined log")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of the measurements, taken in turn; above 1, also their medians")  # fmt: skip
    ap.add_argument("--child", choices=("bare", "straightforward", "ingest", "nginx"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.child:
        _child(args.child, args.log, args.threads, args.stages)
        return

    tmp = Path(tempfile.mkdtemp(prefix="regwatch-bench-", dir="/tmp"))
    log = args.log or tmp / "registry.log"
    try:
        if args.log is None:
            t0 = time.perf_counter()
            lines, rows = generate(log, args.size_mb * 1024 * 1024, args.lines, formatter=args.formatter)
            print(f"generated {log}: {log.stat().st_size / 1e9:.2f} GB, {lines:,} lines, {rows:,} requests "
                  f"in {time.perf_counter() - t0:.0f}s")  # fmt: skip
        else:
            lines, rows = _count_lines(log), 0
        modes = ("ingest",) if args.formatter == "text" else ("bare", "straightforward", "ingest")
        rounds: list[dict[str, dict[str, Any]]] = []
        for n in range(args.repeat):  # round-robin: a slow spell of the host hits every pipeline alike
            if args.repeat > 1:
                print(f"round {n + 1} of {args.repeat}")
            res = {mode: _run_child(mode, log, args.threads, args.stages) for mode in modes}
            rounds.append(res)
            _print_round(res, lines, rows)
        if args.repeat > 1:
            _print_summary(rounds, lines)
        ing = rounds[-1]["ingest"]
        for secs, cpu, what in ing.get("stages", []):
            print(f"  {secs:6.2f}s  cpu {cpu:6.2f}s  {what}")
        if args.nginx:
            access = tmp / "access.log"  # the combined access lines: what nginx in front would log
            with open(access, "wb") as out:
                subprocess.run(["grep", "-v", "-e", "^{", "-e", '^time="', str(log)], stdout=out, check=True)
            n = _count_lines(access)
            r = _run_child("nginx", access, args.threads, args.stages)
            print(f"nginx combined      : {r['secs']:7.2f}s  {n / r['secs']:12,.0f} lines/s  cpu {r['cpu']:7.2f}s  "
                  f"peak RSS {r['rss_mb']:6.0f} MB  ({n:,} access lines; accepted {r['accepted']:,}, "
                  f"rejected {r['rejected']:,})")  # fmt: skip
            for secs, cpu, what in r.get("stages", []):
                print(f"  {secs:6.2f}s  cpu {cpu:6.2f}s  {what}")
    finally:
        if not args.keep:
            for p in tmp.iterdir():
                p.unlink()
            tmp.rmdir()


if __name__ == "__main__":
    main()
