"""Per-file ingest state in ``ingest_files``: head fingerprint, offset (at a line boundary), line count.

A file whose first bytes no longer match the stored fingerprint, or that is shorter than the stored
offset, was rotated or truncated: it is read again from the start.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from regwatch.store import Store

HEAD_BYTES = 1024

_SELECT = """
SELECT fingerprint, "offset", lines, accepted, ignored, rejected, carry
FROM ingest_files WHERE source = ?
"""

# Upsert of one file's state; runs inside the batch's transaction.
_UPSERT = """
INSERT OR REPLACE INTO ingest_files
    (source, fingerprint, "offset", lines, format, registry, region, accepted, ignored, rejected, last_ts,
     updated_at, carry)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
        greatest(?, (SELECT last_ts FROM ingest_files WHERE source = ?)),
        CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP), ?)
"""


def fingerprint(head: bytes) -> str:
    """Fingerprint of a file's first bytes: ``<length>:<sha256>`` (the length lets a short file grow)."""
    head = head[:HEAD_BYTES]
    return f"{len(head)}:{hashlib.sha256(head).hexdigest()}"


def head_matches(stored: str, head: bytes) -> bool:
    """Whether the file's head still starts like the one fingerprinted."""
    n_text, _, _ = stored.partition(":")
    try:
        n = int(n_text)
    except ValueError:
        return False
    return len(head) >= n and fingerprint(head[:n]) == stored


@dataclass
class FileState:
    """How far a source has been read."""

    fingerprint: str | None = None
    offset: int = 0
    lines: int = 0
    accepted: int = 0
    ignored: int = 0
    rejected: int = 0
    carry: str | None = None  # JSON rows of completions waiting for their access line


def load(store: Store, source: str) -> FileState:
    """The stored state of ``source`` (empty when never read)."""
    rows = store.fetchall(_SELECT, [source])
    if not rows:
        return FileState()
    fp, off, lines, acc, ign, rej, carry = rows[0]
    return FileState(fp, int(off), int(lines), int(acc), int(ign), int(rej), carry)


def save(
    store: Store,
    source: str,
    state: FileState,
    *,
    fmt: str | None,
    registry: str,
    region: str,
    last_ts: datetime | None,
) -> None:
    """Write the state of ``source`` (the caller holds the transaction)."""
    params: list[Any] = [
        source, state.fingerprint or "", state.offset, state.lines, fmt, registry, region,
        state.accepted, state.ignored, state.rejected, last_ts, source, state.carry,
    ]  # fmt: skip
    store.execute(_UPSERT, params)
