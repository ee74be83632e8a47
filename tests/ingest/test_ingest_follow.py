"""``follow``: tails a file like ``tail -F`` -- growth, rename rotation (with lines still written to the
old file after the rename) and copytruncate rotation -- committing each round."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from regwatch.ingest import FileReport, IngestSpec, follow
from regwatch.store import open_store

ACCESS = '10.0.0.{i} - - [27/Nov/2026:21:52:20 +0100] "GET /v2/a/b/manifests/v{i} HTTP/1.1" 200 {i} "" "ua"\n'


def test_follow_tails_and_rotates(tmp_path: Path) -> None:
    log = tmp_path / "f.log"
    log.write_text(ACCESS.format(i=1))
    db = str(tmp_path / "f.duckdb")
    with open_store(db):
        pass  # create and migrate the file before two threads open it
    stop = threading.Event()
    seen: list[FileReport] = []
    t = threading.Thread(
        target=follow,
        args=(lambda: open_store(db), [IngestSpec(path=str(log), format="nginx")]),
        kwargs={"interval": 0.05, "should_stop": stop.is_set, "on_reports": seen.extend},
        daemon=True,
    )
    t.start()

    def rows() -> list[tuple[str, int]]:
        with open_store(db) as s:
            return [
                (r[0], r[1]) for r in s.fetchall("SELECT client_ip, line FROM requests ORDER BY client_ip")
            ]

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(rows()) >= n or not t.is_alive():
                break
            time.sleep(0.05)
        assert len(rows()) == n, rows()

    try:
        wait_for(1)
        with open(log, "a") as fh:
            fh.write(ACCESS.format(i=2))
        wait_for(2)
        # rename rotation: the writer still appends to the renamed file before it reopens the name
        log.rename(tmp_path / "f.log.1")
        with open(tmp_path / "f.log.1", "a") as fh:
            fh.write(ACCESS.format(i=3))
        log.write_text(ACCESS.format(i=4) + ACCESS.format(i=5))
        wait_for(5)
        # copytruncate rotation: same inode, shorter than what was read
        log.write_text(ACCESS.format(i=6))
        wait_for(6)
    finally:
        stop.set()
        t.join(timeout=30)
    assert not t.is_alive()
    assert rows() == [("10.0.0.1", 1), ("10.0.0.2", 2), ("10.0.0.3", 3), ("10.0.0.4", 1), ("10.0.0.5", 2),
                      ("10.0.0.6", 1)]  # fmt: skip
    assert sum(r.reset for r in seen) == 2  # the new file and the truncated one were read from the start
    assert sum(r.accepted for r in seen) == 6
    assert not [r.error for r in seen if r.error]
