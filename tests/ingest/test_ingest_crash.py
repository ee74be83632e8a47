"""Crash safety with a real ``kill -9``: the ingest process is killed exactly between writing a whole
batch (rows, rejects, file state) and its COMMIT; a rerun then leaves exactly one complete ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from regwatch.ingest import IngestSpec, ingest
from regwatch.store import open_store

# The child sets the test hook regwatch.ingest._before_commit: it reports how many rows the open
# transaction holds, then waits to be killed.
CHILD = """
import sys, time
import regwatch.ingest as ri
from regwatch.store import open_store

def hook(conn, source):
    n = conn.execute("SELECT count(*) FROM requests").fetchone()[0]
    print(f"before-commit {n}", flush=True)
    time.sleep(600)

ri._before_commit = hook
with open_store(sys.argv[1]) as s:
    ri.ingest(s, [ri.IngestSpec(path=sys.argv[2])])
print("committed", flush=True)
"""


def _request(i: int) -> str:
    """One request as distribution prints it: authorized, completed (JSON formatter), access line."""
    sec, ms = divmod(i, 1000)
    t = f"2026-11-27T21:{sec // 60 % 60:02d}:{sec % 60:02d}.{ms:03d}000000Z"
    clf = f"27/Nov/2026:21:{sec // 60 % 60:02d}:{sec % 60:02d} +0000"
    rid, uri, addr = f"req-{i:07d}", f"/v2/team/app/blobs/sha256:{i:064x}", f"10.0.{i // 250 % 250}.{i % 250}"
    common = (
        f'"http.request.id":"{rid}","http.request.method":"GET","http.request.remoteaddr":"{addr}:40000",'
        f'"http.request.uri":"{uri}","http.request.useragent":"containerd/1.7","level":"info"'
    )
    return (
        f'{{"go.version":"go1.19.8",{common},"msg":"authorized request","time":"{t}"}}\n'
        f'{{"go.version":"go1.19.8",{common},"http.response.duration":"1.5ms","http.response.status":200,'
        f'"http.response.written":1024,"msg":"response completed","time":"{t}"}}\n'
        f'{addr} - - [{clf}] "GET {uri} HTTP/1.1" 200 1024 "" "containerd/1.7"\n'
    )


def _kill_before_commit(db: Path, log: Path) -> int:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(log)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()  # blocks until the batch is written, uncommitted
        assert line.startswith("before-commit "), line
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return int(line.split()[1])


def test_kill_9_before_commit_then_rerun(tmp_path: Path) -> None:
    first, second = 10_000, 20_000  # requests; 3 lines each, about 10 MB in all
    log = tmp_path / "registry.log"
    log.write_text("".join(_request(i) for i in range(first)))
    db = tmp_path / "k.duckdb"
    with open_store(str(db)) as s:
        (rep,) = ingest(s, [IngestSpec(path=str(log))])
        assert (rep.accepted, rep.ignored, rep.rejected) == (first, 2 * first, 0)
    with open(log, "a") as fh:
        fh.write("".join(_request(i) for i in range(first, first + second)))

    # killed with the grown part's batch fully inserted but not committed
    assert _kill_before_commit(db, log) == first + second
    with open_store(str(db)) as s:
        assert s.fetchall("SELECT count(*) FROM requests") == [(first,)]
        assert s.fetchall("SELECT lines, accepted FROM ingest_files") == [(3 * first, first)]
        # the rerun reads the grown part once; a third run adds nothing
        (rep,) = ingest(s, [IngestSpec(path=str(log))])
        assert (rep.accepted, rep.ignored, rep.rejected, rep.reset) == (second, 2 * second, 0, False)
        (rep,) = ingest(s, [IngestSpec(path=str(log))])
        assert (rep.accepted, rep.ignored, rep.rejected) == (0, 0, 0)
        total = first + second
        assert s.fetchall(
            "SELECT count(*), count(DISTINCT request_id), count(duration_s), min(line), max(line) FROM requests"
        ) == [(total, total, total, 2, 3 * total - 1)]  # each row: its completion record's line
        assert s.fetchall('SELECT "offset", lines FROM ingest_files') == [(log.stat().st_size, 3 * total)]


def test_kill_9_on_first_ingest_leaves_nothing(tmp_path: Path) -> None:
    n = 3_000
    log = tmp_path / "registry.log"
    log.write_text("".join(_request(i) for i in range(n)))
    db = tmp_path / "k.duckdb"
    with open_store(str(db)):
        pass
    assert _kill_before_commit(db, log) == n
    with open_store(str(db)) as s:
        assert s.fetchall("SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM ingest_files)") == [
            (0, 0)
        ]
        (rep,) = ingest(s, [IngestSpec(path=str(log))])
        assert rep.accepted == n
        assert s.fetchall("SELECT count(*), count(DISTINCT request_id) FROM requests") == [(n, n)]
