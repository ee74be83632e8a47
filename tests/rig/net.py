"""Loopback networking helpers: free ports and deadline-based readiness polling."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"
#: The only names a test may resolve: everything else is refused in-process (tests/conftest.py).
LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` (an IPv4 or IPv6 literal) right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "condition",
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``predicate`` until it is true or ``timeout`` seconds have passed.

    ``abort`` is checked on every round; if it returns a message the wait fails at
    once with that message (e.g. "the process exited").
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if abort is not None:
            msg = abort()
            if msg:
                raise RuntimeError(f"gave up waiting for {what}: {msg}")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def wait_for_port(
    port: int,
    host: str = LOOPBACK,
    *,
    timeout: float = 10.0,
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Wait until something accepts TCP connections on ``host:port``."""
    wait_until(
        lambda: port_open(port, host),
        timeout=timeout,
        what=f"{host}:{port} to accept connections",
        abort=abort,
    )
