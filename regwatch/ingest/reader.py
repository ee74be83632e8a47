"""Turn a byte range of a log source into a clean line file that DuckDB's CSV reader can scan.

DuckDB parses the lines; this module only moves bytes. It works a block (up to 64 MiB) at a time with
numpy and C-level bytes operations, never a Python loop per line: it finds line ends, and marks the
few lines DuckDB must not see (invalid UTF-8, control bytes, over 64 KiB). Those lines are recorded
as rejects and replaced by a marker line, so line numbers stay exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

MAX_LINE = 64 * 1024  # longer lines are rejected
RAW_CUT = 4096  # rejected lines are stored cut to this many bytes
BLOCK = 64 * 1024 * 1024
MARKER = b"#regwatch-rejected#"

# bytes that never occur in a text log line (tab is allowed; a CR right before LF is stripped)
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


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


def _dirty_block(block: bytes) -> bool:
    """True when some line of a block (ending in LF) needs a look: a cheap whole-block test."""
    arr = np.frombuffer(block, dtype=np.uint8)
    if np.any((arr < 32) & (arr != 9) & (arr != 10)) or np.any(arr == 127):
        return True
    ends = np.flatnonzero(arr == 10)
    if ends.size and (ends[0] > MAX_LINE or (ends.size > 1 and int(np.diff(ends).max()) > MAX_LINE + 1)):
        return True
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def _clean_block(block: bytes, first_line: int, rejects: list[Reject]) -> bytes:
    """Rewrite a dirty block: strip CRs before LF, replace refused lines by the marker."""
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


def iter_blocks(src: BinaryIO, limit: int | None, *, final: bool) -> Iterator[bytes]:
    """Yield blocks ending with LF from ``src`` (at most ``limit`` bytes).

    A last line without LF is held back unless ``final`` (stdin, gzip), where it gets one.
    """
    pending = b""
    remaining = limit
    while True:
        want = BLOCK if remaining is None else min(BLOCK, remaining)
        data = src.read(want) if want > 0 else b""
        if remaining is not None:
            remaining -= len(data)
        if not data:
            break
        data = pending + data
        cut = data.rfind(b"\n") + 1
        pending = data[cut:]
        if cut:
            yield data[:cut]
    if pending and final:
        yield pending + b"\n"


def copy_clean(src: BinaryIO, dest: BinaryIO, limit: int | None, *, first_line: int, final: bool) -> Chunk:
    """Copy complete lines from ``src`` to ``dest``, cleaning dirty blocks; count bytes and lines."""
    chunk = Chunk()
    for block in iter_blocks(src, limit, final=final):
        if not block:
            continue
        n = block.count(b"\n")
        chunk.nbytes += len(block)
        if _dirty_block(block):
            block = _clean_block(block, first_line + chunk.lines, chunk.rejects)
        dest.write(block)
        chunk.lines += n
    return chunk


def scan_clean(src: BinaryIO, limit: int | None) -> tuple[int, int, bool]:
    """Scan a plain file range without copying: (bytes of complete lines, lines, clean?)."""
    nbytes = lines = 0
    for block in iter_blocks(src, limit, final=False):
        if _dirty_block(block):
            return nbytes, lines, False
        nbytes += len(block)
        lines += block.count(b"\n")
    return nbytes, lines, True
