"""HTTP transport for one probe: a fresh connection pool, no retries, and a hard overall deadline.

Every connection the pool opens is registered with the probe's :class:`Deadline`; when the
deadline passes, a timer shuts those sockets down, so a read that is blocked on a slow-drip body
(a server sending one byte a second never trips a per-read socket timeout) ends at once.
The deadline also records how long connection setup (DNS, TCP, TLS) took: the ``connect`` phase.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from regwatch.oci.errors import OciError


class Deadline:
    """The overall deadline of one probe; ``expire`` ends every blocked read of its connections."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self.expired = False
        self.connect_seconds = 0.0
        self.connections = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.expires_at - time.monotonic())

    def check(self, doing: str) -> float:
        """Raise OciError(timeout) when the deadline has passed; else return the seconds left."""
        left = self.remaining()
        if self.expired or left <= 0:
            raise self.error(doing)
        return left

    def error(self, doing: str) -> OciError:
        """The timeout error for a step that the deadline ended."""
        return OciError("timeout", f"probe deadline of {self.seconds:g}s passed while {doing}")

    def track(self, sock: socket.socket | None) -> None:
        """Register a socket to be shut down when the deadline passes."""
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shutdown(sock)

    def add_connect_time(self, seconds: float) -> None:
        with self._lock:
            self.connect_seconds += seconds
            self.connections += 1

    def expire(self) -> None:
        """Mark the deadline passed and shut down every registered socket."""
        with self._lock:
            self.expired = True
            socks = list(self._sockets)
        for sock in socks:
            _shutdown(sock)

    def cancel(self) -> None:
        """Stop the timer (the probe finished in time)."""
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    # OSError: already closed, or detached into an SSL socket that is tracked itself
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _tracked(base: type[HTTPConnection], deadline: Deadline) -> type[HTTPConnection]:
    class Tracked(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            deadline.track(sock)  # covers a TLS handshake that drips
            return sock

        def connect(self) -> None:
            start = time.monotonic()
            try:
                super().connect()
            finally:
                deadline.add_connect_time(time.monotonic() - start)
            deadline.track(self.sock)

    return Tracked


class _ProbeAdapter(HTTPAdapter):
    """An adapter whose pools build deadline-tracked connections and never retry."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        super().__init__(
            max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False),
            pool_connections=2,
            pool_maxsize=2,
        )

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_conn = _tracked(HTTPConnection, self._deadline)
        https_conn = _tracked(HTTPSConnection, self._deadline)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("ProbeHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("ProbeHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }

    def __getstate__(self) -> dict[str, Any]:  # pragma: no cover - never pickled
        raise TypeError("not picklable")


def new_session(deadline: Deadline, user_agent: str) -> requests.Session:
    """A fresh session (own connection pool) for one probe: no retries, no environment proxies."""
    session = requests.Session()
    session.trust_env = False  # no proxies, no ~/.netrc credentials sneaking into requests
    adapter = _ProbeAdapter(deadline)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.clear()
    session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity"})
    return session


def classify(exc: BaseException, deadline: Deadline, doing: str) -> OciError:
    """Map an exception from requests/urllib3/sockets to an OciError with a probe reason."""
    if isinstance(exc, OciError):
        return exc
    if deadline.expired:
        return deadline.error(doing)
    chain = _chain(exc)
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        isinstance(e, urllib3.exceptions.NameResolutionError) for e in chain
    ):
        return OciError("dns", f"cannot resolve the host while {doing}")
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain) or isinstance(
        exc, requests.exceptions.SSLError
    ):
        return OciError("tls", f"TLS failed while {doing}: {_short(_innermost(chain, ssl.SSLError))}")
    # (urllib3's NewConnectionError subclasses ConnectTimeoutError, so requests calls a refused
    # connection a ConnectTimeout: tell them apart by the OSError underneath)
    if isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(e, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)
        for e in chain
    ):
        os_errors = [
            e
            for e in chain
            if isinstance(e, OSError) and not isinstance(e, TimeoutError | requests.RequestException)
        ]
        if os_errors:
            return OciError("connect", f"cannot connect while {doing}: {_short(os_errors[-1])}")
        return OciError("connect", f"connection timed out while {doing}")
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return OciError("connect", f"cannot connect while {doing}: {_short(_innermost(chain, OSError))}")
    if isinstance(exc, requests.exceptions.ReadTimeout | TimeoutError | socket.timeout) or any(
        isinstance(e, urllib3.exceptions.ReadTimeoutError | TimeoutError) for e in chain
    ):
        return OciError("timeout", f"no answer within the probe deadline while {doing}")
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain):
        return OciError("protocol", f"connection reset by the server while {doing}")
    if any(isinstance(e, http.client.HTTPException) for e in chain):
        return OciError(
            "protocol", f"malformed HTTP response while {doing}: {_short(_innermost(chain, Exception))}"
        )
    if isinstance(exc, requests.RequestException | OSError | urllib3.exceptions.HTTPError):
        return OciError("protocol", f"transfer failed while {doing}: {_short(exc)}")
    raise exc  # not a network failure: a bug, let it surface


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__]
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        for arg in getattr(e, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)
    return seen


def _innermost(chain: list[BaseException], kind: type[BaseException]) -> BaseException:
    matches = [e for e in chain if isinstance(e, kind)]
    return matches[-1] if matches else chain[0]


def _short(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc) or type(exc).__name__
    # urllib3 messages hold "<urllib3.connection.HTTPConnection object at 0x...>": drop the noise
    if "object at 0x" in text and ": " in text:
        text = text.rsplit(": ", 1)[-1]
    return text.replace("\n", " ")[:200]
