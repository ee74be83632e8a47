"""The HTTP side of ``serve``: /metrics, /healthz, /readyz and /v1/notifications.

A stdlib ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive as Prometheus
uses it). ``/metrics`` renders the registry at most once per ``max_age`` seconds and hands every
scraper in between the same bytes (gzip too), so 50 concurrent scrapers cost one rendering.

Notifications (CNCF distribution's ``notifications.endpoints``) are checked here — size, shared
``Authorization``, envelope shape — and queued; the store writer writes them within a second, so a
POST answers in microseconds and the registry's delivery queue never backs up behind DuckDB.
"""

from __future__ import annotations

import gzip
import hmac
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from regwatch.serve.collectors import ServeMetrics
from regwatch.serve.webconfig import BasicAuth

log = logging.getLogger("regwatch.serve")

NOTIFICATIONS_PATH = "/v1/notifications"
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{1,64}$")
_OPEN_PATHS = ("/healthz", "/readyz")  # never behind basic auth: probes of orchestrators
_INDEX = (
    "regwatch exporter\n\n"
    "/metrics            Prometheus metrics\n"
    "/healthz            liveness\n"
    "/readyz             readiness (store open, first probe round done)\n"
    "/v1/notifications   registry notification endpoint (POST)\n"
)


class MetricsCache:
    """Render the registry at most once per ``max_age`` seconds per format; one renderer at a time."""

    def __init__(self, registry: CollectorRegistry, max_age: float = 1.0) -> None:
        self.registry = registry
        self.max_age = max_age
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, bool], tuple[float, bytes]] = {}
        self.renders = 0

    def get(self, accept: str, want_gzip: bool) -> tuple[bytes, str]:
        """Return (body, content type) for a scrape with this Accept header.

        A stale copy is served while another thread renders the fresh one (stale by at most one
        rendering), so a render never makes every concurrent scraper wait.
        """
        encoder, content_type = choose_encoder(accept)
        key = (content_type, want_gzip)
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.max_age:
            return hit[1], content_type
        if not self._lock.acquire(blocking=hit is None):
            assert hit is not None
            return hit[1], content_type
        try:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.max_age:
                return hit[1], content_type
            body = encoder(self.registry)
            if want_gzip:
                body = gzip.compress(body, compresslevel=1)
            self._cache[key] = (time.monotonic(), body)
            self.renders += 1
        finally:
            self._lock.release()
        return body, content_type


@dataclass
class Notifications:
    """What the notification endpoint needs: limits, the shared secret, and where to queue."""

    max_body_bytes: int
    authorization: str | None  # the expected Authorization header value (revealed at start)
    enqueue: Callable[[bytes, str | None, str | None], None]
    known_registries: frozenset[str] = frozenset()


def check_envelope(body: bytes) -> str | None:
    """Return why ``body`` is not a distribution notification envelope, or None when it is one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "not JSON"
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        return 'not an envelope: no "events" list'
    for i, ev in enumerate(data["events"]):
        if not isinstance(ev, dict):
            return f"events[{i}]: not an object"
        for key in ("id", "timestamp", "action"):
            if not isinstance(ev.get(key), str) or not ev[key]:
                return f"events[{i}].{key}: missing"
        if not isinstance(ev.get("target", {}), dict):
            return f"events[{i}].target: not an object"
    return None


class App:
    """The request handling that the HTTP server dispatches to."""

    def __init__(
        self,
        cache: MetricsCache,
        metrics: ServeMetrics,
        ready: Callable[[], tuple[bool, str]],
        notifications: Notifications,
        basic_auth: BasicAuth | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.cache = cache
        self.metrics = metrics
        self.ready = ready
        self.notifications = notifications
        self.basic_auth = basic_auth
        self.headers = headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "regwatch"
    sys_version = ""
    timeout = 30  # seconds a connection may idle or drip; a slow client holds one thread at most
    server: ServeHTTPServer
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's, used to send headers and body at once

    # -- plumbing ---------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, on the connection's thread, not in accept()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("http: " + format, *args)

    def _send(
        self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", **extra: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in self.server.app.headers.items():
            self.send_header(k, v)
        for k, v in extra.items():
            self.send_header(k.replace("_", "-"), v)
        # Headers and body in one send: two writes on a keep-alive connection meet Nagle's algorithm
        # and the client's delayed ACK (tens of milliseconds per scrape).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _authorized(self, path: str) -> bool:
        auth = self.server.app.basic_auth
        if auth is None or path in _OPEN_PATHS:
            return True
        if path == NOTIFICATIONS_PATH and self.server.app.notifications.authorization is not None:
            return True  # the shared notification secret takes the Authorization header's place
        if auth.check(self.headers.get("Authorization")):
            return True
        self._send(401, b"Unauthorized\n", WWW_Authenticate='Basic realm="regwatch"')
        return False

    # -- routes -----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if not self._authorized(path):
            return
        app = self.server.app
        if path == "/metrics":
            want_gzip = "gzip" in (self.headers.get("Accept-Encoding") or "")
            body, ctype = app.cache.get(self.headers.get("Accept") or "", want_gzip)
            extra = {"Content_Encoding": "gzip"} if want_gzip else {}
            self._send(200, body, ctype, **extra)
        elif path == "/healthz":
            self._send(200, b"ok\n")
        elif path == "/readyz":
            ok, why = app.ready()
            self._send(200 if ok else 503, (why + "\n").encode())
        elif path == "/":
            self._send(200, _INDEX.encode())
        elif path == NOTIFICATIONS_PATH:
            self._send(405, b"Method Not Allowed: POST notification envelopes here\n", Allow="POST")
        else:
            self._send(404, b"Not Found\n")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if not self._authorized(parts.path):
            return
        if parts.path != NOTIFICATIONS_PATH:
            self._send(404, b"Not Found\n")
            return
        app = self.server.app
        n = app.notifications
        counter = app.metrics.notifications
        if n.authorization is not None and not hmac.compare_digest(
            (self.headers.get("Authorization") or "").encode(), n.authorization.encode()
        ):
            counter.labels("unauthorized").inc()
            self.close_connection = True
            self._send(401, b"Unauthorized\n", Connection="close")
            return
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(411, b"Length Required: send Content-Length\n", Connection="close")
            return
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self.close_connection = True
            self._send(411, b"Length Required\n", Connection="close")
            return
        if length > n.max_body_bytes or length < 0:
            counter.labels("too_large").inc()
            self.close_connection = True  # the body is not read: the connection cannot be reused
            self._send(
                413, f"Payload Too Large: limit {n.max_body_bytes} bytes\n".encode(), Connection="close"
            )
            return
        body = self.rfile.read(length)
        query = parse_qs(parts.query)
        where: dict[str, str | None] = {}
        for key in ("registry", "region"):
            value = query[key][0] if query.get(key) else None
            if value is not None and not _LABEL_VALUE.match(value):
                counter.labels("malformed").inc()
                self._send(400, f"Bad Request: {key} must match [a-z0-9_-]+\n".encode())
                return
            where[key] = value
        problem = check_envelope(body)
        if problem is not None:
            counter.labels("malformed").inc()
            self._send(400, f"Bad Request: {problem}\n".encode())
            return
        try:
            n.enqueue(body, where["registry"], where["region"])
        except RuntimeError:
            self._send(503, b"Service Unavailable: stopping\n", Retry_After="5")
            return
        counter.labels("accepted").inc()
        self._send(200, b"")


class ServeHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server with optional TLS and a bound on concurrent connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        host: str,
        port: int,
        app: App,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 512,
    ) -> None:
        self.app = app
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__((host, port), _Handler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self.scheme = "https" if ssl_context is not None else "http"

    @property
    def port(self) -> int:
        """The bound port (useful after binding port 0)."""
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # over the connection bound: refuse rather than queue
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Broken pipes, TLS handshake failures, timeouts: one debug line, not a traceback on stderr.
        import sys

        exc = sys.exc_info()[1]
        log.debug("http: connection error: %s", exc)


def parse_listen(listen: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:9817`` for IPv6) into host and port."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not HOST:PORT: {listen!r}")
    host = host.strip("[]")
    if not host:
        raise ValueError(
            f"no host in {listen!r}: use 127.0.0.1:{port} for this machine only, 0.0.0.0:{port} for all interfaces"
        )
    return host, int(port)
