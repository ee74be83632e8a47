"""The DuckDB store: creation, migration, refusal of newer files, and sharing between processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import duckdb
import pytest

from regwatch.errors import StoreError
from regwatch.store import connect, current_version, migrations, open_store

TABLES = {"probe_results", "tag_observations", "requests", "audit_events", "ingest_rejects", "ingest_files"}


def test_new_store_has_every_table_at_current_version(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.duckdb")) as s:
        names = {r[0] for r in s.fetchall("SELECT table_name FROM information_schema.tables")}
        assert TABLES | {"schema_version"} <= names
        assert s.schema_version() == current_version() == migrations()[-1][0]


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    for _ in range(2):
        with open_store(db) as s:
            assert s.fetchall("SELECT count(*) FROM schema_version") == [(len(migrations()),)]


def test_older_file_is_migrated_on_open(tmp_path: Path) -> None:
    db = str(tmp_path / "old.duckdb")
    conn = duckdb.connect(db)  # an "older regwatch" file: version table only, no tables yet
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)")
    conn.close()
    with open_store(db) as s:
        assert s.schema_version() == current_version()
        assert s.fetchall("SELECT count(*) FROM requests") == [(0,)]


def test_newer_file_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "new.duckdb")
    with open_store(db) as s:
        s.execute("INSERT INTO schema_version VALUES (999, now())")
    with pytest.raises(StoreError, match=r"schema version 999 is newer than this regwatch understands"):
        connect(db)
    with pytest.raises(StoreError, match=r"newer"):
        connect(db, read_only=True)


def test_reader_of_missing_store_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here yet"):
        connect(str(tmp_path / "absent.duckdb"), read_only=True)


def test_reader_rejects_writes(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    connect(db).close()
    with open_store(db, read_only=True) as s, pytest.raises(duckdb.Error, match="read-only"):
        s.execute("DELETE FROM requests")


HOLD_WRITER = textwrap.dedent(
    """
    import sys, time
    from regwatch.store import connect
    s = connect(sys.argv[1])
    s.execute("INSERT INTO ingest_rejects VALUES (now(), 'w', 1, 'test', 'x')")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    s.close()
    print("released", flush=True)
    """
)


def _hold(db: str, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, db, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_reader_waits_for_a_writer_in_another_process(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    connect(db).close()
    writer = _hold(db, 1.0)
    try:
        # The writer holds the lock for about a second; a reader that may wait long enough gets in
        # and sees the writer's committed row.
        with open_store(db, read_only=True, wait_seconds=30) as s:
            assert s.fetchall("SELECT source FROM ingest_rejects") == [("w",)]
        assert writer.wait(timeout=30) == 0
    finally:
        writer.kill()


def test_reader_that_may_not_wait_gets_a_clear_error(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    connect(db).close()
    writer = _hold(db, 30)
    try:
        with pytest.raises(StoreError, match=r"store is locked by another regwatch process \(waited 0s\)"):
            connect(db, read_only=True, wait_seconds=0)
    finally:
        writer.kill()
        writer.wait()


def test_two_writers_in_turn_both_land(tmp_path: Path) -> None:
    """Writers that open, write and close (as serve does) interleave with another process's writes."""
    db = str(tmp_path / "s.duckdb")
    connect(db).close()
    writer = _hold(db, 0.5)
    done = threading.Event()

    def write_in_this_process() -> None:
        with open_store(db, wait_seconds=30) as s:
            s.execute("INSERT INTO ingest_rejects VALUES (now(), 'me', 2, 'test', 'y')")
        done.set()

    t = threading.Thread(target=write_in_this_process)
    t.start()
    t.join(timeout=60)
    assert done.is_set()
    writer.wait(timeout=30)
    with open_store(db, read_only=True) as s:
        assert sorted(r[0] for r in s.fetchall("SELECT source FROM ingest_rejects")) == ["me", "w"]
