"""reader.iter_blocks: blocks of whole lines, exactly the bytes asked for, each line counted.

Small blocks make every edge frequent: lines longer than the buffer (it grows), a limit inside a
line, a last line without LF (held back, or given one when ``final``), reads shorter than asked
(a pipe). The checks of a block (``threaded`` or not) are those of the feed: tests/ingest/test_feed.py.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regwatch.ingest import reader


class _Trickle(io.RawIOBase):
    """A stream that gives at most ``step`` bytes a read, as a pipe does."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._step, len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _expected(data: bytes, limit: int | None, final: bool) -> bytes:
    got = data if limit is None else data[:limit]
    end = got.rfind(b"\n") + 1
    if final and end < len(got):
        return got + b"\n"
    return got[:end]


@settings(deadline=None, max_examples=300)
@given(
    lines=st.lists(st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"x")), max_size=30),
    last_lf=st.booleans(),
    block=st.integers(1, 64),
    limit=st.one_of(st.none(), st.integers(0, 4000)),
    final=st.booleans(),
    step=st.one_of(st.none(), st.integers(1, 50)),
)
def test_blocks_are_the_whole_lines_asked_for(
    lines: list[bytes],
    last_lf: bool,
    block: int,
    limit: int | None,
    final: bool,
    step: int | None,
) -> None:
    data = b"\n".join(lines) + (b"\n" if last_lf and lines else b"")
    src = io.BytesIO(data) if step is None else io.BufferedReader(_Trickle(data, step), buffer_size=8)
    out = bytearray()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reader, "BLOCK", block)
        for view, counted in reader.iter_blocks(src, limit, final=final):
            chunk = bytes(view)
            assert chunk.endswith(b"\n")
            if counted is not None:
                assert counted == chunk.count(b"\n")
            out += chunk
    assert bytes(out) == _expected(data, limit, final)


def test_blocks_of_a_file_many_blocks_long(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"".join(b"line %d %s\n" % (i, b"y" * (i % 300)) for i in range(20000))
    monkeypatch.setattr(reader, "BLOCK", 4096)
    seen = []
    out = bytearray()
    for view, counted in reader.iter_blocks(io.BytesIO(data), None, final=False):
        seen.append(counted)
        out += bytes(view)
    assert bytes(out) == data
    assert len(seen) > 100 and sum(c or 0 for c in seen) == 20000
