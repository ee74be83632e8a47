"""UTF-8 checks of the byte scan. The copy path decodes only the lines around non-ASCII bytes: it
must agree with a strict decode of the whole text, wherever the bad or good characters fall. The
in-place path leaves UTF-8 to DuckDB's CSV reader, which must refuse the same byte sequences."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import numpy as np
import pytest

from regwatch.ingest import reader


def _check(text: bytes) -> bool:
    buf = bytearray(text)
    return reader._valid_utf8(buf, np.frombuffer(buf, dtype=np.uint8))


def _strict(text: bytes) -> bool:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


PIECES = [b"\xc2\xb5s", b"\xe2\x82\xac", b"\xf0\x9f\x90\xb3", b"\xff", b"\xc2", b"\xed\xa0\x80", b"\xc0\xaf",
          b"\xe2\x82", b"\x80", b"\xf4\x90\x80\x80"]  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_a_strict_decode(seed: int) -> None:
    rng = random.Random(seed)
    lines = []
    for _ in range(rng.randrange(1, 400)):
        line = bytearray(b"x" * rng.randrange(0, 9000))
        for _ in range(rng.randrange(0, 3)):
            valid_odds = 0.3 + 0.6 * (seed % 2)  # odd seeds: mostly valid characters
            piece = rng.choice(PIECES[:4]) if rng.random() < valid_odds else rng.choice(PIECES)
            at = rng.randrange(0, len(line) + 1)
            line[at:at] = piece
        lines.append(bytes(line))
    text = b"\n".join(lines) + b"\n"
    assert _check(text) == _strict(text)


def test_characters_across_piece_boundaries() -> None:
    for at in range(reader._PIECE - 4, reader._PIECE + 4):
        text = b"a" * at + "µs€🐳".encode() + b"\n"
        assert _check(text)
        assert not _check(b"a" * at + b"\xe2\x82" + b"\n")
    assert _check(b"")
    assert _check("µ".encode() * 10_000 + b"\n")  # mostly non-ASCII: decoded whole
    assert not _check("µ".encode() * 10_000 + b"\xff\n")


@pytest.mark.parametrize("piece", [*PIECES, b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xf8\x88\x80\x80\x80"])
def test_duckdb_refuses_what_python_refuses(tmp_path: Path, piece: bytes) -> None:
    """A clean plain file is scanned in place without the Python UTF-8 check: DuckDB's CSV reader,
    reading it as reader.create_raw_view does, must refuse every byte sequence a strict decode refuses
    (overlong forms, surrogates, code points past U+10FFFF, cut and stray bytes) and accept the rest."""
    log = tmp_path / "u.log"
    log.write_bytes(b"ok line\nx" + piece + b"y\nlast\n")
    conn = duckdb.connect()
    reader.create_raw_view(conn, str(log), first_line=1, lines=3)
    try:
        conn.execute("SELECT count(*) FROM rw_raw").fetchall()
        refused = False
    except duckdb.InvalidInputException as exc:
        assert "invalid unicode" in str(exc).lower()
        refused = True
    assert refused == (not _strict(piece))
