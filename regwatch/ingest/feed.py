"""Hand a plain file's byte range to DuckDB through pipes, part by part, checking the bytes on the way.

DuckDB numbers lines only in a scan that stays on one thread (``WITH ORDINALITY``), so a big range is
cut at line ends into parts, one scan each, side by side. Each part reaches its scan as a pipe
(``/dev/fd/N``) that a thread fills from the file:

- a scan reads exactly its part's bytes, from any offset (a grown file's new lines too), where a scan
  of the file itself would have to ``skip`` the lines before its part, which costs more than reading
  them;
- the byte checks (control bytes, DEL, lines over MAX_LINE: ``reader.iter_blocks``) run as the bytes
  are fed, while DuckDB parses, instead of in a pass over the file before it; DuckDB sees exactly the
  bytes that were checked;
- a part's scan numbers its lines from the count of the lines before it: the line ends of every part
  but the last are counted first (numpy, on a few threads: about 0.1 s a GB).

A part that turns out unclean (or a file that shrank under the feed) ends early; ``finish`` then raises
``Unclean``, the caller rolls the batch back and reads the range through ``reader.copy_clean``, which
records the lines DuckDB must not see. The statement that reads ``rw_raw`` must read it to its end, once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, cast

import duckdb
import numpy as np

from regwatch.errors import IngestError
from regwatch.ingest import reader

PART_MIN_BYTES = 32 * 1024 * 1024  # a range is cut into parts only above this many bytes a part
FEED_BLOCK = 2 * 1024 * 1024  # bytes checked and written at a time (the checks' temporaries stay in cache)
_COUNT_BLOCK = 1024 * 1024
_FIND = 64 * 1024  # window of the searches for a line end
_PIPE_SIZE = 1024 * 1024  # Linux lets a pipe grow to this without privileges (pipe-max-size)
_FD_DIR = "/dev/fd"


class Unclean(Exception):
    """The range holds a line DuckDB must not see, or the file changed while it was fed."""


def available() -> bool:
    """Whether a pipe can be handed to DuckDB by name here."""
    return os.path.isdir(_FD_DIR)


@dataclass
class _Part:
    lo: int  # byte offsets in the file: [lo, hi), whole lines
    hi: int
    before: int  # lines of the range before this part
    expected: int | None  # its lines, when counted ahead (every part but the last)
    read_fd: int = -1
    write_fd: int = -1
    fed: int = 0  # bytes written to the pipe so far
    lines: int = 0
    clean: bool = True
    complete: bool = False  # every byte of [lo, hi) was read and written
    error: OSError | None = None
    thread: threading.Thread | None = None  # its feeder, once started


class _Range:
    """``readinto`` over bytes [pos, hi) of a file descriptor (pread: no shared file offset)."""

    def __init__(self, fd: int, lo: int, hi: int) -> None:
        self.fd, self.pos, self.hi = fd, lo, hi

    def readinto(self, buf: memoryview) -> int:
        n = min(len(buf), self.hi - self.pos)
        if n <= 0:
            return 0
        got = os.preadv(self.fd, [buf[:n]], self.pos)
        self.pos += got
        return got


def _find_lf(fd: int, pos: int, stop: int, *, backwards: bool = False) -> int:
    """Offset of the first LF in [pos, stop) (the last one, ``backwards``), or -1."""
    if backwards:
        hi = stop
        while hi > pos:
            lo = max(pos, hi - _FIND)
            i = os.pread(fd, hi - lo, lo).rfind(b"\n")
            if i >= 0:
                return lo + i
            hi = lo
        return -1
    while pos < stop:
        data = os.pread(fd, min(_FIND, stop - pos), pos)
        if not data:
            return -1
        i = data.find(b"\n")
        if i >= 0:
            return pos + i
        pos += len(data)
    return -1


def _count_lf(fd: int, lo: int, hi: int) -> int:
    """Line ends in bytes [lo, hi) of the file."""
    buf = bytearray(_COUNT_BLOCK)
    eq = np.empty(_COUNT_BLOCK, dtype=np.bool_)
    total = 0
    with memoryview(buf) as view:
        while lo < hi:
            n = os.preadv(fd, [view[: min(_COUNT_BLOCK, hi - lo)]], lo)
            if not n:
                break
            data = np.frombuffer(buf, dtype=np.uint8, count=n)
            total += int(np.count_nonzero(np.equal(data, 10, out=eq[:n])))
            lo += n
    return total


class Feed:
    """The complete lines of bytes [start, size) of an open plain file, ready to be fed to DuckDB."""

    def __init__(self, fd: int, start: int, end: int, parts: int) -> None:
        """``end``: just past the range's last LF. Use ``plan``."""
        self.fd, self.start, self.end = fd, start, end
        cuts = [start]
        for k in range(1, parts):
            lf = _find_lf(fd, max(cuts[-1], start + (end - start) * k // parts), end)
            if lf < 0 or lf + 1 >= end:
                break
            cuts.append(lf + 1)
        cuts.append(end)
        counted = self._count_ahead(cuts[:-1], parts) if len(cuts) > 2 else []
        before = [0]
        for n in counted:
            before.append(before[-1] + n)
        self.parts = [
            _Part(lo, hi, before[k], counted[k] if k < len(counted) else None)
            for k, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False))
        ]
        self._stop = threading.Event()

    def _count_ahead(self, cuts: list[int], workers: int) -> list[int]:
        """Lines of each part but the last: ``cuts`` are the parts' starts (the last one ends the counting)."""
        spans = []  # each part's bytes in pieces, so that a few threads share the counting
        for k, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False)):
            step = max(_COUNT_BLOCK, (hi - lo) // workers + 1)
            spans += [(k, a, min(hi, a + step)) for a in range(lo, hi, step)]
        counts = [0] * (len(cuts) - 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="regwatch-count") as pool:
            for (k, _, _), n in zip(
                spans, pool.map(lambda s: _count_lf(self.fd, s[1], s[2]), spans), strict=True
            ):
                counts[k] += n
        return counts

    @classmethod
    def plan(cls, fd: int, start: int, size: int, threads: int) -> Feed | None:
        """The feed of bytes [start, size) of ``fd`` up to its last LF, in up to ``threads`` parts;
        None when the range holds no complete line."""
        last = _find_lf(fd, start, size, backwards=True)
        if last < 0:
            return None
        end = last + 1
        return cls(fd, start, end, max(1, min(threads, (end - start) // PART_MIN_BYTES)))

    @property
    def nbytes(self) -> int:
        """Bytes of the range (whole lines)."""
        return self.end - self.start

    @property
    def fed(self) -> int:
        """Bytes handed to DuckDB so far."""
        return sum(p.fed for p in self.parts)

    @property
    def feeding(self) -> bool:
        """Whether a part is still being fed."""
        return any(p.thread is not None and p.thread.is_alive() for p in self.parts)

    def create_view(self, conn: duckdb.DuckDBPyConnection, *, first_line: int) -> None:
        """Create the temp view ``rw_raw(line, raw)`` over the parts' pipes (lines numbered from
        ``first_line``) and start feeding them."""
        selects = []
        for part in self.parts:
            part.read_fd, part.write_fd = os.pipe()
            with contextlib.suppress(OSError, AttributeError):  # a bigger pipe: fewer switches; optional
                import fcntl

                fcntl.fcntl(part.write_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            selects.append(
                reader.part_select(f"{_FD_DIR}/{part.read_fd}", first=first_line - 1 + part.before)
            )
        conn.execute("CREATE OR REPLACE TEMP VIEW rw_raw AS\n" + "\nUNION ALL\n".join(selects))
        for k, part in enumerate(self.parts):
            part.thread = threading.Thread(
                target=self._feed, args=(part,), name=f"regwatch-feed-{k}", daemon=True
            )
            part.thread.start()

    def _feed(self, part: _Part) -> None:
        src = _Range(self.fd, part.lo, part.hi)
        try:
            blocks = reader.iter_blocks(  # readinto is all it asks of a stream
                cast(BinaryIO, src),
                part.hi - part.lo,
                final=False,
                utf8=False,
                block=FEED_BLOCK,
                threaded=False,
            )
            for block, lines in blocks:
                if lines is None:
                    part.clean = False
                    break
                with memoryview(block) as view:
                    done = 0
                    while done < len(view) and not self._stop.is_set():
                        done += os.write(part.write_fd, view[done:])
                if self._stop.is_set():
                    break
                part.lines += lines
                part.fed += len(block)
            else:
                part.complete = src.pos == part.hi and part.fed == part.hi - part.lo
        except OSError as exc:  # a read error of the file, or the pipe's reader gone
            part.error = exc
        finally:
            os.close(part.write_fd)
            part.write_fd = -1

    def _drain(self) -> int:
        """Read what the scans left in the pipes until every feeder is done; the bytes left."""
        left = 0
        for part in self.parts:
            if part.thread is None or part.read_fd < 0:
                continue
            while True:
                data = os.read(part.read_fd, _PIPE_SIZE)
                if not data:  # the feeder closed its end
                    break
                left += len(data)
            part.thread.join()
        return left

    def finish(self) -> reader.Chunk:
        """After the statement that read ``rw_raw``: the bytes and lines it got.

        Raises ``Unclean`` when a line needs a look or the file changed meanwhile, and ``OSError``
        when the file could not be read.
        """
        if self._drain():
            raise IngestError("internal: the parse left lines of the batch unread")
        for part in self.parts:
            if part.error is not None and not isinstance(part.error, BrokenPipeError):
                raise part.error
        if not all(p.clean and p.complete and p.expected in (None, p.lines) for p in self.parts):
            raise Unclean
        return reader.Chunk(nbytes=self.nbytes, lines=sum(p.lines for p in self.parts))

    def close(self) -> None:
        """Stop feeding, let the feeders end and close the pipes (also after a failed statement)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._drain()
        for part in self.parts:
            for name in ("read_fd", "write_fd"):  # the write end is still open when its feeder never started
                if getattr(part, name) >= 0:
                    os.close(getattr(part, name))
                    setattr(part, name, -1)

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
