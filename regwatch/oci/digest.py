"""Content digests (sha256, sha512): parsing, and hashing a stream while it is still being read.

A blob download reads from the socket in one thread and hashes in another: ``recv_into`` and
``hashlib``'s update both release the GIL on large buffers, so the two overlap and a pull runs
near the transfer rate instead of at (transfer time + hash time).
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from regwatch.oci.errors import OciError

_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_DIGEST = re.compile(r"^(sha256|sha512):([a-f0-9]+)$")

#: Buffer size of one socket read while streaming a blob (large reads keep per-call overhead low).
CHUNK_BYTES = 1024 * 1024
#: Buffers in flight between the reading and the hashing thread: bounds memory to BUFFERS * CHUNK.
BUFFERS = 4


@dataclass(frozen=True)
class Digest:
    """A parsed ``algorithm:hex`` digest."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def new_hash(self) -> hashlib._Hash:
        """Return an empty hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` hashes to this digest."""
        return hashlib.new(self.algorithm, data).hexdigest() == self.hex


def parse_digest(text: object, what: str = "digest") -> Digest:
    """Parse ``sha256:<64 hex>`` or ``sha512:<128 hex>``; raise OciError(manifest_invalid) otherwise."""
    m = _DIGEST.match(text) if isinstance(text, str) else None
    if not m or len(m.group(2)) != _HEX_LENGTH[m.group(1)]:
        shown = text[:80] if isinstance(text, str) else type(text).__name__
        raise OciError("manifest_invalid", f"{what} is not a sha256/sha512 digest: {shown!r}")
    return Digest(m.group(1), m.group(2))


def digest_of(data: bytes, algorithm: str = "sha256") -> Digest:
    """The digest of ``data``."""
    return Digest(algorithm, hashlib.new(algorithm, data).hexdigest())


ReadInto = Callable[[memoryview], int]


def read_and_hash(readinto: ReadInto, algorithm: str, limit: int) -> tuple[int, str]:
    """Read until EOF or ``limit`` bytes (whichever first), hashing as it goes.

    Returns (bytes read, hex digest). ``readinto`` returns 0 at end of stream. Reading and hashing
    overlap in two threads; memory stays at ``BUFFERS * CHUNK_BYTES`` however large the blob.
    """
    h = hashlib.new(algorithm)
    if limit <= CHUNK_BYTES:
        return _read_small(readinto, h, limit)
    free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
    full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
    for _ in range(BUFFERS):
        free.put(bytearray(CHUNK_BYTES))

    def hasher() -> None:
        while (item := full.get()) is not None:
            buf, n = item
            h.update(memoryview(buf)[:n])
            free.put(buf)

    worker = threading.Thread(target=hasher, name="regwatch-hash", daemon=True)
    worker.start()
    total = 0
    try:
        while total < limit:
            buf = free.get()
            view = memoryview(buf)
            want = min(CHUNK_BYTES, limit - total)
            n = readinto(view[:want] if want < CHUNK_BYTES else view)
            if not n:
                free.put(buf)
                break
            total += n
            full.put((buf, n))
    finally:
        full.put(None)
        worker.join()
    return total, h.hexdigest()


def _read_small(readinto: ReadInto, h: hashlib._Hash, limit: int) -> tuple[int, str]:
    buf = bytearray(max(limit, 1))
    view = memoryview(buf)
    total = 0
    while total < limit:
        n = readinto(view[total:limit])
        if not n:
            break
        total += n
    h.update(view[:total])
    return total, h.hexdigest()
