"""Helpers of the probe tests: configs, and a fault-injecting HTTP proxy in front of a real registry."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regwatch.config import Config, parse_config
from regwatch.probe import ProbeResult, run_round

PASSWORD_ENV = "REGWATCH_TEST_ROBOT_PASSWORD"
WRONG_PASSWORD_ENV = "REGWATCH_TEST_WRONG_PASSWORD"
WRONG_PASSWORD = "wr0ng-Pa55word-xyzzy"


def make_config(
    url: str,
    *,
    auth: str = "anonymous",
    reference: str = "v1",
    repository: str = "platform/canary",
    platform: str = "linux/amd64",
    timeout: float = 5.0,
    ca_file: str | Path | None = None,
    extra: str = "",
) -> Config:
    """A one-probe config. ``auth``: anonymous, robot (the rig's password) or wrong."""
    auth_path = {
        "anonymous": "{name: anonymous}",
        "robot": f"{{name: robot, username: robot, password_env: {PASSWORD_ENV}}}",
        "wrong": f"{{name: robot, username: robot, password_env: {WRONG_PASSWORD_ENV}}}",
    }[auth]
    tls = f", tls: {{ca_file: '{ca_file}'}}" if ca_file else ""
    text = f"""
registries:
  - name: main
    regions: [{{name: local, url: "{url}"{tls}}}]
    auth_paths: [{auth_path}]
    canaries: [{{repository: {repository}, reference: "{reference}", platform: {platform}}}]
probe: {{timeout_seconds: {timeout}, concurrency: 2{extra}}}
"""
    return parse_config(text, "test.yaml")


# --- fault-injecting proxy -------------------------------------------------------------------------


@dataclass
class Fault:
    """What the proxy does to requests whose path matches ``pattern``.

    status: answer with this status (no upstream call); headers: extra/overriding headers;
    body: replace the body; chunked: send the body chunked (no Content-Length);
    drip: seconds between single body bytes; truncate: bytes of the body to send before closing;
    reset: close with a TCP RST right after reading the request; many_headers: add this many headers;
    echo_auth: put the request's Authorization header in the body (a hostile server);
    redirect: 307 to this URL prefix + the path.
    """

    pattern: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    chunked: bool = False
    drip: float | None = None
    truncate: int | None = None
    reset: bool = False
    many_headers: int = 0
    echo_auth: bool = False
    redirect: str | None = None
    times: int | None = None  # apply this many times, then pass through
    hits: int = 0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-request are what these tests provoke


class FaultProxy:
    """An HTTP/1.1 proxy (reverse, not CONNECT) in front of one upstream, injecting faults."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.faults: list[Fault] = []
        self.seen: list[tuple[str, dict[str, str]]] = []  # (path, headers) of every request
        self._stop = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                proxy._handle(self)

            def do_HEAD(self) -> None:  # noqa: N802
                proxy._handle(self)

            def finish(self) -> None:
                with contextlib.suppress(OSError):  # the fault closed the socket already
                    super().finish()

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def add(self, pattern: str, **kw: Any) -> Fault:
        fault = Fault(pattern, **kw)
        self.faults.append(fault)
        return fault

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _fault_for(self, path: str) -> Fault | None:
        for f in self.faults:
            if re.search(f.pattern, path) and (f.times is None or f.hits < f.times):
                f.hits += 1
                return f
        return None

    def _upstream(self, h: BaseHTTPRequestHandler) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=10)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "connection")}
        try:
            conn.request(h.command, h.path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            hop = {"connection", "keep-alive", "transfer-encoding", "content-length"}
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in hop], body
        finally:
            conn.close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        self.seen.append((h.path, dict(h.headers.items())))
        fault = self._fault_for(h.path)
        if fault is not None and fault.reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        if fault is not None and fault.redirect:
            self._send(h, 307, [("Location", fault.redirect + h.path)], b"")
            return
        if fault is not None and fault.status is not None:
            status, headers, body = fault.status, [("Content-Type", "application/json")], b'{"errors":[]}'
        else:
            status, headers, body = self._upstream(h)
        if fault is None:
            self._send(h, status, headers, body)
            return
        if fault.body is not None:
            body = fault.body
            headers = [(k, v) for k, v in headers if k.lower() != "docker-content-digest"]
        if fault.echo_auth:
            auth = h.headers.get("Authorization")
            body = json.dumps({"errors": [{"code": "DENIED", "message": f"got {auth}"}]}).encode()
        names = {k.lower() for k in fault.headers}
        headers = [(k, v) for k, v in headers if k.lower() not in names] + list(fault.headers.items())
        headers += [(f"X-Filler-{i}", "x") for i in range(fault.many_headers)]
        self._send(h, status, headers, body, fault)

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        fault: Fault | None = None,
    ) -> None:
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        chunked = fault is not None and fault.chunked
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command == "HEAD":
            return
        try:
            if fault is not None and fault.drip is not None:
                for i in range(len(body)):
                    if self._stop.wait(fault.drip):
                        break
                    h.wfile.write(body[i : i + 1])
                    h.wfile.flush()
                h.close_connection = True
                return
            if fault is not None and fault.truncate is not None:
                h.wfile.write(body[: fault.truncate])
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
                h.close_connection = True
                return
            if chunked:
                for i in range(0, len(body), 65536):
                    piece = body[i : i + 65536]
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                h.wfile.write(b"0\r\n\r\n")
            else:
                h.wfile.write(body)
        except OSError:
            h.close_connection = True


class Timer:
    """Wall time of a block, to assert a probe never outlives its deadline."""

    def __enter__(self) -> Timer:
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.start


#: Slack over a probe's deadline for thread scheduling on a busy 2-core machine.
GRACE = 1.0


def run_one(cfg: Config) -> ProbeResult:
    """Run a one-probe round and return its result."""
    results = run_round(cfg)
    assert len(results) == 1
    return results[0]
