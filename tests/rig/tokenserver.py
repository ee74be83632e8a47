"""A small Docker-token-spec auth server for distribution's ``auth.token`` mode.

    ts = TokenServer({"robot": "s3cret"}).start()
    ts.url            # realm, e.g. http://127.0.0.1:PORT/token
    ts.fail_status = 500   # answer every request with 500 from now on (None: normal)
    ts.requests       # how many requests it has answered
    ts.stop()

GET ``/token?service=S&scope=repository:NAME:pull,push`` (scope may repeat) with
HTTP Basic auth answers ``{"token", "access_token", "expires_in", "issued_at"}``.
A known user with the right password is granted every action it asks for on any
repository (and ``registry:catalog:*``); a request without ``Authorization`` is
anonymous and gets ``pull`` on repositories when ``anonymous_pull`` is true (else a
token that grants nothing); a wrong password or unknown user gets 401.
POST ``/token`` (OAuth2 ``grant_type=password``) is accepted as well.

Tokens are RS256 JWTs signed by a self-signed certificate written to
``rootcertbundle`` (give that path to the registry). ``signing="x5c"`` (default)
puts the certificate in the JWT header's ``x5c``; ``signing="kid"`` uses the
libtrust key id of the key instead. Distribution 2.8 accepts both (see
tests/test_rig.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

DEFAULT_SERVICE = "regwatch-test-registry"
DEFAULT_ISSUER = "regwatch-test-token-issuer"

_KEY_LOCK = threading.Lock()
_SIGNING_KEY: rsa.RSAPrivateKey | None = None


def _signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per test process (generation is the slow part)."""
    global _SIGNING_KEY
    with _KEY_LOCK:
        if _SIGNING_KEY is None:
            _SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _SIGNING_KEY


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def libtrust_key_id(public_key: Any) -> str:
    """docker/libtrust key id: base32 of the first 240 bits of sha256(DER SPKI), 4-char groups."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(s[i : i + 4] for i in range(0, len(s), 4))


def parse_scope(scope: str) -> tuple[str, str, list[str]]:
    """``repository:platform/canary:pull,push`` -> ("repository", "platform/canary", ["pull", "push"])."""
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return typ, name, [a for a in actions.split(",") if a]


@dataclass
class TokenRequest:
    method: str
    path: str
    user: str | None  # None: anonymous; the name given even when the password was wrong
    authenticated: bool
    service: str | None
    scopes: list[str]
    status: int


@dataclass
class TokenServer:
    users: dict[str, str] = field(default_factory=dict)
    anonymous_pull: bool = True
    service: str = DEFAULT_SERVICE
    issuer: str = DEFAULT_ISSUER
    signing: str = "x5c"  # "x5c" | "kid"
    expires_in: int = 300
    directory: Path | None = None  # where rootcertbundle is written (a temp dir if None)
    fail_status: int | None = None  # test switch: answer every request with this status
    delay_seconds: float = 0.0  # test switch: sleep before answering
    fresh_key: bool = False  # own RSA key instead of the per-process one (for forged-token tests)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self.request_log: list[TokenRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        self._key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if self.fresh_key
            else _signing_key()
        )
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regwatch test token signer")])
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.key_id = libtrust_key_id(self._key.public_key())
        if self.directory is None:
            import tempfile

            self.directory = Path(tempfile.mkdtemp(prefix="regwatch-tokenserver-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.rootcertbundle = self.directory / "token-signer.pem"
        self.rootcertbundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    # -- public surface ---------------------------------------------------------------
    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("TokenServer not started")
        return f"http://127.0.0.1:{self.port}/token"

    def start(self) -> TokenServer:
        if self._httpd is not None:
            return self
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                q = parse_qs(urlsplit(self.path).query)
                server._handle(self, q)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                form = parse_qs(body)
                q = parse_qs(urlsplit(self.path).query)
                for k, v in form.items():
                    q.setdefault(k, []).extend(v)
                server._handle(self, q, form=form)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"tokenserver-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def issue_token(
        self, subject: str, access: list[dict[str, Any]], *, expires_in: int | None = None
    ) -> str:
        """Sign a registry JWT (usable directly, e.g. to test a tampered/expired token)."""
        now = int(time.time())
        exp = now + (self.expires_in if expires_in is None else expires_in)
        header: dict[str, Any] = {"typ": "JWT", "alg": "RS256"}
        if self.signing == "x5c":
            header["x5c"] = [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()]
        elif self.signing == "kid":
            header["kid"] = self.key_id
        else:
            raise ValueError(f"unknown signing mode {self.signing!r}")
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": exp,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        sig = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    # -- request handling -------------------------------------------------------------
    def _authenticate(
        self, handler: BaseHTTPRequestHandler, form: dict[str, list[str]] | None
    ) -> tuple[str | None, bool]:
        """Return (user or None, ok). ok=False means: credentials given but wrong."""
        auth = handler.headers.get("Authorization")
        if auth and auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth.split(None, 1)[1]).decode("utf-8")
            except Exception:
                return "", False
            user, _, password = raw.partition(":")
            return user, self.users.get(user) == password and user in self.users
        if form and form.get("grant_type", [""])[0] == "password":
            user = form.get("username", [""])[0]
            password = form.get("password", [""])[0]
            return user, self.users.get(user) == password and user in self.users
        if auth:
            return "", False
        return None, True

    def _grant(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        access = []
        for scope in scopes:
            for one in scope.split(" "):
                if not one:
                    continue
                typ, name, actions = parse_scope(one)
                if user is None:
                    granted = (
                        ["pull"]
                        if (self.anonymous_pull and typ == "repository" and "pull" in actions)
                        else []
                    )
                else:
                    granted = actions
                if granted:
                    access.append({"type": typ, "name": name, "actions": granted})
        return access

    def _handle(
        self,
        handler: BaseHTTPRequestHandler,
        q: dict[str, list[str]],
        form: dict[str, list[str]] | None = None,
    ) -> None:
        with self._lock:
            self._requests += 1
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        path = urlsplit(handler.path).path
        service = q["service"][0] if q.get("service") else None
        scopes = q.get("scope") or []
        user, ok = self._authenticate(handler, form)

        def log(status: int) -> None:
            with self._lock:
                self.request_log.append(
                    TokenRequest(
                        handler.command, path, user, ok and user is not None, service, scopes, status
                    )
                )

        if self.fail_status is not None:
            log(self.fail_status)
            self._send(
                handler, self.fail_status, {"errors": [{"code": "UNAVAILABLE", "message": "test switch"}]}
            )
            return
        if path.rstrip("/") != "/token":
            log(404)
            self._send(handler, 404, {"errors": [{"code": "NOT_FOUND", "message": path}]})
            return
        if not ok:
            log(401)
            self._send(
                handler,
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]},
                extra_headers={"WWW-Authenticate": 'Basic realm="regwatch-test-token"'},
            )
            return
        token = self.issue_token(user or "", self._grant(user, scopes))
        log(200)
        self._send(
            handler,
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": self.expires_in,
                "issued_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)
