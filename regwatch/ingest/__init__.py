"""Load registry access and audit logs into the store: incremental, idempotent, crash-safe.

Python finds files, reads byte ranges and moves them into a clean line file; DuckDB parses and merges
the lines (``regwatch/ingest/sql/*.sql``). Each batch — its rows, its rejects and the file's new
offset — is one transaction, so a crash leaves either the whole batch or none of it.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import importlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

import duckdb

from regwatch.errors import IngestError
from regwatch.ingest import feed, reader, state
from regwatch.ingest.detect import detect
from regwatch.ingest.formats import sql_statements
from regwatch.store import Store, transaction

FORMATS = ("distribution", "nginx", "notifications")
STDIN = "-"
HEAD_SNIFF = 64 * 1024

# Rejected lines are stored cut to 4 KiB and with credentials masked (rw_redact, sql/redact.sql):
# a rejected line can be anything the server printed, e.g. a truncated start-up line with headers.
_INSERT_REJECTS = """
INSERT INTO ingest_rejects (ingested_at, source, line, reason, raw)
SELECT CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP), ?, line, reason, rw_redact(left(raw, 4096)) FROM rw_rejects
"""

# Test hook: called inside the batch's transaction right before COMMIT (the crash-safety test
# kills the process there). Never set in production.
_before_commit: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None


@dataclass(frozen=True)
class IngestSpec:
    """One thing to ingest: a path, a glob or ``-`` (stdin), with its format and labels."""

    path: str
    format: str = "auto"
    registry: str = "default"
    region: str = "default"
    log_format: str | None = None  # nginx log_format string (default "combined")


@dataclass
class FileReport:
    """What one ingest did to one file."""

    source: str
    format: str | None = None
    accepted: int = 0
    ignored: int = 0
    rejected: int = 0
    reset: bool = False  # the file was rotated or truncated and read from the start
    error: str | None = None  # the file could not be read
    reject_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``regwatch ingest --json``)."""
        return asdict(self)

    def add(self, other: FileReport) -> None:
        """Accumulate another batch of the same file."""
        self.accepted += other.accepted
        self.ignored += other.ignored
        self.rejected += other.rejected
        self.reset = self.reset or other.reset
        self.format = other.format or self.format
        for k, v in other.reject_reasons.items():
            self.reject_reasons[k] = self.reject_reasons.get(k, 0) + v


# (source, phase, done, total): phase "read" counts bytes of the file read (compressed bytes for
# .gz; total 0 when unknown, as for stdin), "parse" counts DuckDB's progress through the current
# statement in per mille (total 1000), "done" ends the file (done == total == 1).
Progress = Callable[[str, str, int, int], None]


class _Tracked:
    """A read-only stream that reports how far the underlying file has been read."""

    def __init__(
        self, stream: BinaryIO, raw: BinaryIO, base: int, total: int, report: Callable[[int, int], None]
    ):
        self._stream, self._raw, self._base, self._total, self._report = stream, raw, base, total, report

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._progress()
        return data

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` without an extra copy (the pre-scan reads this way), reporting progress."""
        n = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self._progress()
        return int(n or 0)

    def _progress(self) -> None:
        done = self._raw.tell() - self._base if self._raw.seekable() else 0
        self._report(done, self._total)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._stream.seek(pos, whence)

    def tell(self) -> int:
        return self._stream.tell()


class _StreamCounter:
    """Count bytes read from a non-seekable stream (stdin) for the progress bar."""

    def __init__(self, stream: BinaryIO, report: Callable[[int, int], None]):
        self._stream, self._report, self._done = stream, report, 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._done += len(data)
        self._report(self._done, 0)
        return data


def expand(spec: IngestSpec) -> list[str]:
    """The sources a spec names: ``-``, the path itself, or the sorted matches of a glob."""
    if spec.path == STDIN:
        return [STDIN]
    if glob.has_magic(spec.path):
        return sorted(str(Path(p).resolve()) for p in glob.glob(spec.path) if Path(p).is_file())
    return [str(Path(spec.path).resolve())]


def ingest(
    store: Store, specs: Sequence[IngestSpec], *, progress: Progress | None = None
) -> list[FileReport]:
    """Ingest every file the specs name; a file that cannot be read gets a report with ``error``."""
    reports: list[FileReport] = []
    for spec in specs:
        sources = expand(spec)
        if not sources:
            reports.append(FileReport(source=spec.path, error=f"{spec.path}: no file matches"))
        for source in sources:
            try:
                reports.append(ingest_source(store, spec, source, progress=progress))
            except (OSError, EOFError, gzip.BadGzipFile, IngestError) as exc:
                reports.append(FileReport(source=source, error=_one_line(source, exc)))
    return reports


def _one_line(source: str, exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, IngestError) else f"{source}: {exc.strerror or exc}" if isinstance(
        exc, OSError) else f"{source}: {exc}"  # fmt: skip
    return text.splitlines()[0] if text else source


def _resolve_format(spec: IngestSpec, head: bytes, source: str) -> str:
    if spec.format != "auto":
        if spec.format not in FORMATS:
            raise IngestError(f"{source}: unknown format {spec.format!r} (one of {', '.join(FORMATS)})")
        return spec.format
    if spec.log_format:
        return "nginx"
    return detect(head, name=source)


def ingest_source(
    store: Store,
    spec: IngestSpec,
    source: str,
    *,
    progress: Progress | None = None,
    handle: BinaryIO | None = None,
    restart: bool = False,
) -> FileReport:
    """Ingest the new complete lines of one source (``-`` for stdin) in one transaction.

    ``handle``: read this open file instead of opening ``source`` (``follow`` drains a rotated file
    through the handle it holds). ``restart``: the file under this name was replaced; read it from
    the start whatever its head looks like.
    """
    if source == STDIN:
        return _ingest_stream(store, spec, STDIN, sys.stdin.buffer, progress=progress)
    path = Path(source)
    if handle is None and not path.is_file():
        raise IngestError(f"{source}: not a readable file" if path.exists() else f"{source}: no such file")
    gz = source.endswith(".gz")
    with contextlib.ExitStack() as stack:
        fh: BinaryIO = handle if handle is not None else stack.enter_context(open(path, "rb"))  # noqa: SIM115
        fh.seek(0)
        raw_head = fh.read(state.HEAD_BYTES)
        size = os.fstat(fh.fileno()).st_size
        old = state.load(store, source)
        st = state.FileState(**asdict(old))
        rep = FileReport(source=source)
        if old.fingerprint and (
            restart or not state.head_matches(old.fingerprint, raw_head) or (size < old.offset and not gz)
        ):
            st = state.FileState()
            rep.reset = True
        st.fingerprint = state.fingerprint(raw_head)
        if gz:
            fh.seek(0)
            stream: BinaryIO = stack.enter_context(gzip.open(fh, "rb"))  # type: ignore[assignment]
            sniff = stream.peek(HEAD_SNIFF)[:HEAD_SNIFF] if hasattr(stream, "peek") else b""
            stream.seek(st.offset)
        else:
            fh.seek(0)
            sniff = fh.read(HEAD_SNIFF)
            stream = fh
        if not gz and (
            st.offset >= size or (st.offset == 0 and b"\n" not in sniff and len(sniff) < HEAD_SNIFF)
        ):
            # nothing complete to read (yet); a reset is still recorded, so what the file holds
            # next is read from its start
            if sniff:
                with contextlib.suppress(IngestError):
                    rep.format = _resolve_format(spec, sniff, source)
            if rep.reset:
                _save_state(store, spec, source, st, rep.format)
            return rep
        fmt = _resolve_format(spec, sniff, source)
        rep.format = fmt
        if not gz and feed.available() and _fed(store, spec, fmt, source, st, rep, fh, size, progress):
            _finish(progress, source)
            return rep
        stream.seek(st.offset)
        limit = None if gz else size - st.offset
        if progress is not None:
            base = 0 if gz else st.offset
            total = size - base

            def _read(done: int, _total: int) -> None:
                progress(source, "read", done, total)

            _read(0, total)
            stream = _Tracked(stream, fh, base, total, _read)  # type: ignore[assignment]
        with tempfile.TemporaryDirectory(prefix="regwatch-ingest-") as tmp:
            copy = os.path.join(tmp, "lines.txt")
            with open(copy, "wb") as dest:
                chunk = reader.copy_clean(stream, dest, limit, first_line=st.lines + 1, final=gz)
            if chunk.lines:
                _run_batch(store, spec, fmt, source, st, rep, chunk, copy, progress=progress)
            elif rep.reset:
                _save_state(store, spec, source, st, fmt)
    _finish(progress, source)
    return rep


def _fed(
    store: Store,
    spec: IngestSpec,
    fmt: str,
    source: str,
    st: state.FileState,
    rep: FileReport,
    fh: BinaryIO,
    size: int,
    progress: Progress | None,
) -> bool:
    """Ingest the new complete lines of a plain file straight from it, when they are clean; False when not.

    Nothing is copied: ``feed`` hands the bytes to DuckDB through pipes and checks them on the way.
    Not clean: a control byte, an over-long line, or invalid UTF-8, which DuckDB refuses as it scans
    (the batch is then rolled back). The caller then copies the range clean, recording those lines.
    """
    row = store.conn.execute("SELECT current_setting('threads')").fetchone()
    piped = feed.Feed.plan(fh.fileno(), st.offset, size, int(row[0]) if row else 1)
    if piped is None:  # no complete line yet
        if rep.reset:
            _save_state(store, spec, source, st, fmt)
        return True
    with piped:
        try:
            _run_batch(
                store, spec, fmt, source, st, rep, reader.Chunk(), source, progress=progress, fed=piped
            )
        except feed.Unclean:
            return False
        except duckdb.InvalidInputException as exc:
            if "invalid unicode" not in str(exc).lower():
                raise
            return False
    return True


def _save_state(store: Store, spec: IngestSpec, source: str, st: state.FileState, fmt: str | None) -> None:
    """Record a file's state alone (a reset file with nothing complete to read yet)."""
    with transaction(store.conn):
        state.save(store, source, st, fmt=fmt, registry=spec.registry, region=spec.region, last_ts=None)


def _finish(progress: Progress | None, source: str) -> None:
    if progress is not None:
        progress(source, "done", 1, 1)


def _ingest_stream(
    store: Store, spec: IngestSpec, source: str, src: BinaryIO, *, progress: Progress | None
) -> FileReport:
    """Stdin: no identity, so no state: everything read is one batch (piping the same lines twice adds them twice)."""
    rep = FileReport(source=source)
    if progress is not None:

        def _read(done: int, total: int) -> None:
            progress(source, "read", done, total)

        src = _StreamCounter(src, _read)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="regwatch-ingest-") as tmp:
        copy = os.path.join(tmp, "lines.txt")
        with open(copy, "wb") as dest:
            chunk = reader.copy_clean(src, dest, None, first_line=1, final=True)
        with open(copy, "rb") as fh:
            sniff = fh.read(HEAD_SNIFF)
        if chunk.lines:
            fmt = _resolve_format(spec, sniff, source)
            rep.format = fmt
            _run_batch(store, spec, fmt, source, None, rep, chunk, copy, progress=progress)
    _finish(progress, source)
    return rep


@contextlib.contextmanager
def _tuned(conn: duckdb.DuckDBPyConnection, *, track: bool, settings: dict[str, str]) -> Iterator[None]:
    """DuckDB settings for one batch, put back afterwards (outside its transaction, which may have
    been aborted): result ordering relaxed (every ordering the SQL needs is explicit), the format's
    own ``settings``, and with ``track`` the progress of the running statement kept
    (``query_progress``) without DuckDB printing its own bar.
    """
    values = {"preserve_insertion_order": "false", **settings}
    if track:
        values |= {"enable_progress_bar": "true", "enable_progress_bar_print": "false"}
    old = {}
    for name in values:
        row = conn.execute("SELECT current_setting(?)", [name]).fetchone()
        old[name] = str(row[0] if row else "").replace("'", "''")
    try:
        for name, value in values.items():
            conn.execute(f"SET {name} = '{value}'")
        yield
    finally:
        for name, value in old.items():
            conn.execute(f"SET {name} = '{value}'")


@contextlib.contextmanager
def _parse_progress(
    conn: duckdb.DuckDBPyConnection, source: str, progress: Progress | None, fed: feed.Feed | None = None
) -> Iterator[None]:
    """Report progress every 0.1 s while the batch parses: the bytes ``fed`` to DuckDB while it is
    fed, then DuckDB's progress through the running statement."""
    if progress is None:
        yield
        return
    stop = threading.Event()
    reading = fed is not None
    if fed is not None:
        progress(source, "read", 0, fed.nbytes)

    def read_done() -> None:
        nonlocal reading
        if reading and fed is not None:
            reading = False
            progress(source, "read", fed.nbytes, fed.nbytes)
            progress(source, "parse", 0, 1000)

    def poll() -> None:
        while not stop.wait(0.1):
            if reading and fed is not None:
                if fed.feeding:
                    progress(source, "read", fed.fed, fed.nbytes)
                    continue
                read_done()
            with contextlib.suppress(duckdb.Error, RuntimeError):
                pct = conn.query_progress()
                if pct >= 0:
                    progress(source, "parse", min(int(pct * 10), 1000), 1000)

    if not reading:
        progress(source, "parse", 0, 1000)
    t = threading.Thread(target=poll, name="regwatch-ingest-progress", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        read_done()
        progress(source, "parse", 1000, 1000)


def _load_macros(conn: duckdb.DuckDBPyConnection) -> None:
    for stmt in (*sql_statements("macros"), *sql_statements("redact")):
        conn.execute(stmt)


def _insert_pre_rejects(conn: duckdb.DuckDBPyConnection, rejects: list[reader.Reject]) -> None:
    """Add the lines refused before parsing (binary, invalid UTF-8, too long) to ``rw_rejects``."""
    if rejects:  # three bound lists, one statement: no per-row round trips
        conn.execute(
            "INSERT INTO rw_rejects SELECT unnest(?), unnest(?), unnest(?)",
            [[r.line for r in rejects], [r.reason for r in rejects], [r.raw for r in rejects]],
        )


_TEMP_TABLES = (
    "rw_n", "rw_ev", "rw_consumed", "rw_q", "rw_p", "rw_parsed", "rw_all", "rw_rows", "rw_rejects",
    "rw_carry", "rw_carry_out",
)  # fmt: skip
_TEMP_VIEWS = ("rw_rows",)  # a format may leave its rows as a view over its own tables


def _run_batch(
    store: Store,
    spec: IngestSpec,
    fmt: str,
    source: str,
    st: state.FileState | None,
    rep: FileReport,
    chunk: reader.Chunk,
    path: str,
    *,
    progress: Progress | None = None,
    fed: feed.Feed | None = None,
) -> None:
    """Parse one batch and commit its rows, rejects and the file's new state together.

    The lines are those of the clean line file ``path`` (``chunk`` tells how many), or, with ``fed``,
    those it feeds (``chunk`` is then what it fed, known once the parse has read them).
    """
    conn = store.conn
    module = importlib.import_module(f"regwatch.ingest.formats.{fmt}")
    base = st.lines if st is not None else 0
    with _tuned(conn, track=progress is not None, settings=getattr(module, "SETTINGS", {})):
        _load_macros(conn)
        with transaction(conn, temp_tables=_TEMP_TABLES, temp_views=_TEMP_VIEWS):
            if fed is None:
                reader.create_raw_view(conn, path, first_line=int(base) + 1, lines=int(chunk.lines))
            else:
                fed.create_view(conn, first_line=int(base) + 1)
            with _parse_progress(conn, source, progress, fed):
                carry = module.run(
                    conn, registry=spec.registry, region=spec.region, source=source,
                    carry=st.carry if st is not None else None, options={"log_format": spec.log_format},
                )  # fmt: skip
                if fed is not None:
                    chunk = fed.finish()
                conn.execute(f"INSERT INTO {module.TARGET} SELECT * FROM rw_rows")
            accepted = _count(conn, "SELECT count(*) FROM rw_rows")
            _insert_pre_rejects(conn, chunk.rejects)
            conn.execute(_INSERT_REJECTS, [source])
            reasons = dict(conn.execute("SELECT reason, count(*) FROM rw_rejects GROUP BY reason").fetchall())
            rejected = sum(reasons.values())
            consumed = (
                _count(conn, "SELECT count(*) FROM rw_consumed") if module.TARGET == "audit_events" else None
            )
            last_ts = conn.execute("SELECT max(ts) FROM rw_rows").fetchone()
            if st is not None:
                st.offset += chunk.nbytes
                st.lines += chunk.lines
                st.carry = carry
                st.accepted += accepted
                st.rejected += rejected
                st.ignored += chunk.lines - (consumed if consumed is not None else accepted) - rejected
                state.save(
                    store, source, st, fmt=fmt, registry=spec.registry, region=spec.region,
                    last_ts=last_ts[0] if last_ts else None,
                )  # fmt: skip
            if _before_commit is not None:
                _before_commit(conn, source)
    lines_used = consumed if consumed is not None else accepted
    rep.add(
        FileReport(
            source=source, format=fmt, accepted=accepted, rejected=rejected,
            ignored=chunk.lines - lines_used - rejected, reject_reasons=reasons,
        )
    )  # fmt: skip


def _count(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


@dataclass
class _Held:
    """A file ``follow`` keeps open: its inode and handle."""

    ino: int
    fh: IO[bytes]


def follow(
    open_store: Callable[[], contextlib.AbstractContextManager[Store]],
    specs: Sequence[IngestSpec],
    *,
    interval: float = 1.0,
    should_stop: Callable[[], bool] = lambda: False,
    on_reports: Callable[[list[FileReport]], None] | None = None,
) -> None:
    """Tail the specs' files like ``tail -F``: poll every ``interval`` seconds (<= 2 s between commits).

    Each round is one batch (one transaction) per file. A file renamed away keeps being read through
    the handle still open until a new file appears under its name; then the old one is drained and
    the new one read from its start. Globs are re-expanded each round so new files are picked up.
    The store is opened per round, so other processes can use it between rounds.
    """
    held: dict[str, _Held] = {}
    try:
        while not should_stop():
            reports: list[FileReport] = []
            with open_store() as store:
                for spec in specs:
                    for source in expand(spec):
                        if source != STDIN:
                            reports.extend(_follow_one(store, spec, source, held))
            if on_reports and any(r.accepted or r.rejected or r.error or r.reset for r in reports):
                on_reports(reports)
            deadline = time.monotonic() + min(interval, 2.0)
            while not should_stop() and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        for h in held.values():
            h.fh.close()


def _follow_one(store: Store, spec: IngestSpec, source: str, held: dict[str, _Held]) -> list[FileReport]:
    out: list[FileReport] = []

    def read(fh: IO[bytes], *, restart: bool = False) -> None:
        try:
            out.append(ingest_source(store, spec, source, handle=fh, restart=restart))  # type: ignore[arg-type]
        except (OSError, IngestError) as exc:
            out.append(FileReport(source=source, error=_one_line(source, exc)))

    try:
        ino: int | None = os.stat(source).st_ino
    except OSError:
        ino = None
    old = held.get(source)
    replaced = old is not None and old.ino != ino
    if old is not None and replaced:
        read(old.fh)  # what was written to the old file since the last round
        if ino is None:
            return out  # renamed away and no new file yet: keep the old one open
        old.fh.close()
        del held[source]
    if ino is None:
        return out
    if source not in held:
        held[source] = _Held(ino, open(source, "rb"))  # noqa: SIM115
    read(held[source].fh, restart=replaced)
    return out
