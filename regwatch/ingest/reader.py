"""Get a byte range of a log source into DuckDB as numbered lines, without a Python loop per line.

DuckDB parses the lines; this module only moves and checks bytes. It reads a block (up to 64 MiB) at
a time into one reused buffer and checks the whole block with C-level bytes operations: line ends,
control bytes, UTF-8 and line lengths. The few lines DuckDB must not see (invalid UTF-8, control
bytes, over 64 KiB) are recorded as rejects and replaced by a marker line, so line numbers stay
exact. A clean plain file is not copied at all: ``feed`` hands its bytes to DuckDB through pipes,
checking them with ``iter_blocks`` on the way (leaving UTF-8 to DuckDB's CSV reader).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import duckdb
import numpy as np

MAX_LINE = 64 * 1024  # longer lines are rejected
RAW_CUT = 4096  # rejected lines are stored cut to this many bytes
BLOCK = 64 * 1024 * 1024
MARKER = b"#regwatch-rejected#"
PART_MIN_LINES = 200_000  # a batch is split into parallel scans only above this many lines per part
_PIECE = 4096  # the UTF-8 check decodes only the lines around pieces of this size holding non-ASCII

# bytes that never occur in a text log line (tab is allowed; a CR right before LF is stripped)
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")

# The raw lines of a clean line file (or pipe): read_csv with a delimiter, quote and escape that never
# occur gives one VARCHAR per line (empty lines included). WITH ORDINALITY numbers rows in file order,
# which keeps a scan on one thread: a big batch is cut into parts (one per DuckDB thread) that are
# scanned side by side (part_select).
_SCAN = """read_csv({path}, columns = {{'raw': 'VARCHAR'}}, delim = '\\x01', quote = '', escape = '',
                  header = false, auto_detect = false, new_line = '\\n', strict_mode = false,
                  max_line_size = 1048576, skip = {skip})"""


def part_select(path: str, *, first: int, skip: int = 0, count: int | None = None) -> str:
    """SQL for the lines of ``path`` after the first ``skip`` (``count`` of them, or all), numbered
    from ``first`` + 1, as ``(line, raw)``."""
    scan = _SCAN.format(path="'" + path.replace("'", "''") + "'", skip=int(skip))
    select = f"SELECT CAST({int(first)} + ordinality AS BIGINT) AS line, raw FROM {scan} WITH ORDINALITY"
    return select if count is None else f"SELECT * FROM ({select} LIMIT {int(count)})"


@dataclass
class Reject:
    """One line refused before parsing."""

    line: int
    reason: str
    raw: str


@dataclass
class Chunk:
    """What was read: how many bytes and lines, the rejects, and whether anything was written."""

    nbytes: int = 0
    lines: int = 0
    rejects: list[Reject] = field(default_factory=list)


def create_raw_view(conn: duckdb.DuckDBPyConnection, path: str, *, first_line: int, lines: int) -> None:
    """Create the temp view ``rw_raw(line, raw)``: the first ``lines`` lines of the clean line file
    ``path``, numbered from ``first_line``.

    A big batch is read as one part per DuckDB thread, each a CSV scan of its own range of lines
    (numbering rows keeps a scan on one thread; parts let the format SQL above them run in parallel).
    """
    row = conn.execute("SELECT current_setting('threads')").fetchone()
    parts = max(1, min(int(row[0]) if row else 1, lines // PART_MIN_LINES))
    bounds = [lines * i // parts for i in range(parts + 1)]
    selects = [
        part_select(path, first=int(first_line) - 1 + a, skip=a, count=b - a)
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    conn.execute("CREATE OR REPLACE TEMP VIEW rw_raw AS\n" + "\nUNION ALL\n".join(selects))


def _raw_text(data: bytes) -> str:
    return data[:RAW_CUT].decode("utf-8", errors="replace")


def _line_reason(line: bytes) -> str | None:
    if len(line) > MAX_LINE:
        return "too_long"
    body = line[:-1] if line.endswith(b"\r") else line
    if b"\x00" in body:
        return "binary"
    if _CONTROL.search(body):
        return "binary"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    return None


def _has_long_line(buf: bytearray, end: int) -> bool:
    """Whether ``buf[:end]`` (whole lines) holds a line over MAX_LINE bytes.

    Such a line covers a multiple of MAX_LINE / 2, so looking at the line around each of those
    points is enough: a few thousand C-level searches for a block, each stopping at a line end.
    """
    for x in range(0, end, MAX_LINE // 2):
        nxt = buf.find(b"\n", x, end)
        if (nxt if nxt >= 0 else end) - buf.rfind(b"\n", 0, x) - 1 > MAX_LINE:
            return True
    return False


def _count_below(data: np.ndarray, limit: int, scratch: np.ndarray) -> int:
    """How many bytes of ``data`` are below ``limit`` (``scratch``: a bool array at least as long)."""
    return int(np.count_nonzero(np.less(data, limit, out=scratch[: data.size])))


def _valid_utf8(buf: bytearray, data: np.ndarray) -> bool:
    """Whether ``data`` (whole lines of ``buf``) is valid UTF-8.

    Registry logs are nearly all ASCII (a "µs" here and there), and a line break never falls inside
    a character. So only the lines around the 4 KiB pieces holding a byte >= 0x80 are decoded.
    """
    end = data.size
    if not end or int(data.max()) < 0x80:
        return True
    k = end // _PIECE
    flags = np.append(data[: k * _PIECE].reshape(k, _PIECE).max(axis=1) >= 0x80, True)
    pieces = np.flatnonzero(flags)
    if pieces.size > k // 4:  # mostly non-ASCII text: decode it whole
        spans = [(0, end)]
    else:  # runs of flagged pieces, widened to whole lines
        breaks = np.flatnonzero(np.diff(pieces) != 1) + 1
        starts, stops = pieces[np.r_[0, breaks]], pieces[np.r_[breaks - 1, pieces.size - 1]] + 1
        spans = []
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            lo = buf.rfind(b"\n", 0, a * _PIECE) + 1
            hi = min(end, b * _PIECE)
            nl = buf.find(b"\n", hi, end)
            spans.append((lo, end if nl < 0 else nl))
    try:
        with memoryview(buf) as view:
            for lo, hi in spans:
                codecs.utf_8_decode(view[lo:hi], "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _count_clean_lines(
    buf: bytearray,
    end: int,
    scratch: tuple[np.ndarray, np.ndarray],
    pool: ThreadPoolExecutor | None = None,
    *,
    utf8: bool = True,
) -> int | None:
    """Lines in ``buf[:end]`` (whole lines), or None when one of them needs a look (see copy_clean).

    ``scratch``: two bool arrays at least as long as the data, reused between blocks; ``pool``: a
    thread that counts the control bytes while this one counts line ends and checks the rest (numpy
    lets go of the GIL). ``utf8``: check UTF-8 too (the in-place scan leaves it to DuckDB).
    """
    data = np.frombuffer(buf, dtype=np.uint8, count=end)
    below = pool.submit(_count_below, data, 32, scratch[0]) if pool is not None else None
    lines = int(np.count_nonzero(np.equal(data, 10, out=scratch[1][:end])))
    ok = (
        buf.find(b"\x7f", 0, end) < 0
        and not _has_long_line(buf, end)
        and (not utf8 or _valid_utf8(buf, data))
    )
    others = (below.result() if below is not None else _count_below(data, 32, scratch[0])) - lines
    if others and others != int(np.count_nonzero(np.equal(data, 9, out=scratch[1][:end]))):
        ok = False  # a control byte other than TAB
    return lines if ok else None


def _fill(src: BinaryIO, buf: bytearray, start: int, want: int) -> int:
    """Read up to ``want`` bytes into ``buf[start:]`` (readinto when the stream has it: no copies)."""
    readinto = getattr(src, "readinto", None)
    got = 0
    with memoryview(buf) as view:
        while got < want:
            if readinto is not None:
                n = readinto(view[start + got : start + want]) or 0
            else:
                data = src.read(want - got)
                n = len(data)
                view[start + got : start + got + n] = data
            if not n:
                break
            got += n
    return got


def iter_blocks(
    src: BinaryIO,
    limit: int | None,
    *,
    final: bool,
    utf8: bool = True,
    block: int | None = None,
    threaded: bool = True,
) -> Iterator[tuple[memoryview, int | None]]:
    """Yield ``(block, lines)`` for consecutive blocks of whole lines of ``src`` (at most ``limit`` bytes).

    ``lines`` is the block's line count, or None when some line of it needs a look (control byte,
    not UTF-8, too long). A block is a view of a reused buffer of ``block`` bytes (BLOCK; more for a
    longer line): valid until the next one is asked for. A last line without LF is held back unless
    ``final`` (stdin, gzip), where it gets one. ``threaded``: a second thread shares the checks.
    """
    size = BLOCK if block is None else block
    if not threaded:
        yield from _blocks(src, limit, final=final, pool=None, utf8=utf8, size=size)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="regwatch-scan") as pool:
        yield from _blocks(src, limit, final=final, pool=pool, utf8=utf8, size=size)


def _blocks(
    src: BinaryIO, limit: int | None, *, final: bool, pool: ThreadPoolExecutor | None, utf8: bool, size: int
) -> Iterator[tuple[memoryview, int | None]]:
    buf = bytearray(size if limit is None else max(1, min(size, limit)))
    scratch = (np.empty(len(buf), dtype=np.bool_), np.empty(len(buf), dtype=np.bool_))
    have = 0  # bytes of an unfinished line at the start of buf
    remaining = limit
    while True:
        if have == len(buf):  # one line longer than the buffer: make room
            buf = buf + bytearray(len(buf))
            scratch = (np.empty(len(buf), dtype=np.bool_), np.empty(len(buf), dtype=np.bool_))
        want = len(buf) - have if remaining is None else min(len(buf) - have, remaining)
        n = _fill(src, buf, have, want) if want > 0 else 0
        if remaining is not None:
            remaining -= n
        total = have + n
        if not n:
            if have and final:
                tail = bytearray(memoryview(buf)[:have]) + b"\n"
                with memoryview(tail) as view:
                    pair = (np.empty(len(tail), np.bool_), np.empty(len(tail), np.bool_))
                    yield view, _count_clean_lines(tail, len(tail), pair, utf8=utf8)
            return
        end = buf.rfind(b"\n", 0, total) + 1
        if end:
            lines = _count_clean_lines(buf, end, scratch, pool, utf8=utf8)
            with memoryview(buf) as view:
                yield view[:end], lines
            buf[: total - end] = buf[end:total]
        have = total - end if end else total


def _clean_block(block: bytes, first_line: int, rejects: list[Reject]) -> bytes:
    """Rewrite a block needing a look: strip CRs before LF, replace refused lines by the marker."""
    lines = block.split(b"\n")  # rare path: only blocks holding a refused line get here
    lines.pop()  # the block ends with LF
    out = []
    for i, line in enumerate(lines):
        reason = _line_reason(line)
        if reason is None:
            out.append(line[:-1] if line.endswith(b"\r") else line)
        else:
            rejects.append(Reject(first_line + i, reason, _raw_text(line)))
            out.append(MARKER)
    return b"\n".join(out) + b"\n"


def copy_clean(src: BinaryIO, dest: BinaryIO, limit: int | None, *, first_line: int, final: bool) -> Chunk:
    """Copy complete lines from ``src`` to ``dest``, cleaning blocks that need it; count bytes and lines."""
    chunk = Chunk()
    for block, counted in iter_blocks(src, limit, final=final):
        chunk.nbytes += len(block)
        if counted is None:
            data = bytes(block)
            dest.write(_clean_block(data, first_line + chunk.lines, chunk.rejects))
            chunk.lines += data.count(b"\n")
        else:
            dest.write(block)
            chunk.lines += counted
    return chunk
