"""feed.Feed: the complete lines of a file range reach DuckDB through pipes, exactly and numbered.

Small parts, blocks and MAX_LINE make every edge frequent: ranges starting after a line, parts cut
at line ends, lines longer than a block, control bytes, DEL and CR anywhere, an unfinished last line.
Whatever the cut, DuckDB gets each complete line once, with its number in the file; a range that
holds a line it must not see raises Unclean (the caller then copies it clean).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regwatch.errors import IngestError
from regwatch.ingest import feed, reader

_UNCLEAN = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read(
    path: Path, start: int, threads: int, first_line: int = 1
) -> tuple[list[tuple[int, str]], reader.Chunk]:
    """Feed bytes [start, end of file) of ``path`` to DuckDB; its lines as (line, raw) and the chunk fed."""
    conn = duckdb.connect()
    with open(path, "rb") as fh:
        piped = feed.Feed.plan(fh.fileno(), start, os.fstat(fh.fileno()).st_size, threads)
        if piped is None:
            return [], reader.Chunk()
        with piped:
            piped.create_view(conn, first_line=first_line)
            rows = conn.execute("SELECT line, coalesce(raw, '') FROM rw_raw ORDER BY line").fetchall()
            return rows, piped.finish()


@settings(deadline=None, max_examples=250)
@given(
    lines=st.lists(
        st.one_of(
            st.builds(lambda n, fill: fill * n, st.integers(0, 90), st.sampled_from(["a", " ", "\t", "µ"])),
            # control bytes, DEL, CR, bytes that are no UTF-8
            st.binary(max_size=6).map(lambda b: b.replace(b"\n", b"x").decode("latin-1")),
        ),
        max_size=40,
    ),
    last_lf=st.booleans(),
    skip=st.integers(0, 45),
    threads=st.integers(1, 4),
    part=st.integers(1, 300),
    block=st.integers(41, 200),
)
def test_every_complete_line_once_numbered_or_unclean(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    last_lf: bool,
    skip: int,
    threads: int,
    part: int,
    block: int,
) -> None:
    data = [line.encode() if "µ" in line else line.encode("latin-1") for line in lines]
    body = b"\n".join(data) + (b"\n" if last_lf and data else b"")
    skip = min(skip, body.count(b"\n"))
    start = sum(len(d) + 1 for d in data[:skip])  # a state offset is always at a line end
    path = tmp_path_factory.mktemp("feed") / "f.log"
    path.write_bytes(body)
    end = body.rfind(b"\n") + 1
    complete = body[start:end].split(b"\n")[:-1] if end > start else []
    max_line = 40
    clean = all(len(line) <= max_line and not _UNCLEAN.search(line) for line in complete)
    utf8 = all(_utf8(line) for line in complete)  # left to DuckDB's reader, which refuses the rest
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feed, "PART_MIN_BYTES", part)
        mp.setattr(feed, "FEED_BLOCK", block)
        mp.setattr(reader, "MAX_LINE", max_line)
        if not clean or not utf8:
            # an unclean block is never fed; a bad UTF-8 line fed before it makes DuckDB refuse first
            expected = (feed.Unclean, duckdb.InvalidInputException) if utf8 == clean else (
                duckdb.InvalidInputException if clean else feed.Unclean)  # fmt: skip
            with pytest.raises(expected):
                _read(path, start, threads, first_line=skip + 1)
            return
        rows, chunk = _read(path, start, threads, first_line=skip + 1)
    assert rows == [(skip + 1 + i, line.decode()) for i, line in enumerate(complete)]
    assert (chunk.nbytes, chunk.lines) == ((end - start) if complete else 0, len(complete))


def _log(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "big.log"
    path.write_bytes(b"".join(b"line %06d %s\n" % (i, b"x" * (i % 50)) for i in range(1, n + 1)))
    return path


def test_parts_are_scanned_side_by_side_and_numbered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _log(tmp_path, 30_000)
    monkeypatch.setattr(feed, "PART_MIN_BYTES", 100_000)
    monkeypatch.setattr(feed, "FEED_BLOCK", 8192)
    with open(path, "rb") as fh:
        piped = feed.Feed.plan(fh.fileno(), 0, path.stat().st_size, 3)
    assert piped is not None and len(piped.parts) == 3
    data = path.read_bytes()
    counted = [data[p.lo : p.hi].count(b"\n") for p in piped.parts[:2]]
    assert [p.expected for p in piped.parts] == [*counted, None]
    assert [(p.lo, p.hi) for p in piped.parts] == [(0, piped.parts[1].lo), (piped.parts[1].lo, piped.parts[2].lo),
                                                   (piped.parts[2].lo, len(data))]  # fmt: skip
    assert all(data[p.lo - 1 : p.lo] == b"\n" for p in piped.parts[1:])  # cut at line ends
    rows, chunk = _read(path, 0, 3)
    assert chunk.lines == 30_000 and len(rows) == 30_000
    assert all(line == int(raw.split()[1]) for line, raw in rows)  # each line's number is written in it


@pytest.mark.parametrize("keep", [1 / 3, 0.999])  # into the first part (counted ahead), into the last
def test_a_file_that_shrinks_under_the_feed_is_unclean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: float
) -> None:
    path = _log(tmp_path, 5000)
    monkeypatch.setattr(feed, "PART_MIN_BYTES", 20_000)
    conn = duckdb.connect()
    with open(path, "rb") as fh:
        piped = feed.Feed.plan(fh.fileno(), 0, path.stat().st_size, 2)
        assert piped is not None and len(piped.parts) == 2
        with piped:
            os.truncate(path, int(path.stat().st_size * keep))  # copytruncate, mid-batch
            piped.create_view(conn, first_line=1)
            conn.execute("SELECT count(*) FROM rw_raw").fetchall()
            with pytest.raises(feed.Unclean):
                piped.finish()


def test_a_parse_that_leaves_lines_unread_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _log(tmp_path, 50_000)
    monkeypatch.setattr(feed, "FEED_BLOCK", 4096)
    conn = duckdb.connect()
    with open(path, "rb") as fh:
        piped = feed.Feed.plan(fh.fileno(), 0, path.stat().st_size, 1)
        assert piped is not None
        with piped:
            piped.create_view(conn, first_line=1)
            conn.execute("SELECT 1").fetchall()  # a format that never read rw_raw
            with pytest.raises(IngestError, match="unread"):
                piped.finish()


def test_close_never_hangs_whatever_the_scan_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A statement that fails before reading, or never runs: close() drains the pipes and ends the feeders."""
    path = _log(tmp_path, 50_000)  # far more than a pipe holds
    monkeypatch.setattr(feed, "PART_MIN_BYTES", 100_000)
    conn = duckdb.connect()
    before = threading.active_count()
    with open(path, "rb") as fh:
        for statement in ("SELECT no_such_column FROM rw_raw", None):
            piped = feed.Feed.plan(fh.fileno(), 0, path.stat().st_size, 2)
            assert piped is not None
            with piped:
                piped.create_view(conn, first_line=1)
                if statement:
                    with pytest.raises(duckdb.BinderException):
                        conn.execute(statement)
            assert not piped.feeding
            assert all(p.read_fd == -1 and p.write_fd == -1 for p in piped.parts)
    assert threading.active_count() == before


def test_no_complete_line_is_no_feed(tmp_path: Path) -> None:
    path = tmp_path / "p.log"
    path.write_bytes(b"a line still being written")
    with open(path, "rb") as fh:
        assert feed.Feed.plan(fh.fileno(), 0, path.stat().st_size, 2) is None
    path.write_bytes(b"one\ntwo, unfinished")
    with open(path, "rb") as fh:
        assert feed.Feed.plan(fh.fileno(), 4, path.stat().st_size, 2) is None
