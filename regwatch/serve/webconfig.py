"""Basic auth and TLS for ``regwatch serve``, configured like the Prometheus exporter toolkit.

The file has the exporter toolkit's ``--web.config.file`` format, so one file serves every exporter
on a host::

    tls_server_config:
      cert_file: /etc/regwatch/tls.crt
      key_file: /etc/regwatch/tls.key
      client_ca_file: /etc/regwatch/clients-ca.crt      # optional: mutual TLS
      client_auth_type: RequireAndVerifyClientCert      # NoClientCert | VerifyClientCertIfGiven | ...
      min_version: TLS12
    basic_auth_users:
      prometheus: $2y$10$...                            # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':')
    http_server_config:
      headers:
        X-Frame-Options: deny

Unknown keys are errors (the toolkit does the same). Client-certificate modes that accept a
certificate without verifying it (``RequestClientCert``, ``RequireAnyClientCert``) are refused.
Password hashes are checked with the ``bcrypt`` package, imported only when the file has users.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import threading
from base64 import b64decode
from binascii import Error as BinasciiError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from regwatch.errors import ConfigError

_TOP_KEYS = {"tls_server_config", "basic_auth_users", "http_server_config"}
_TLS_KEYS = {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version"}
_HTTP_KEYS = {"headers", "http2"}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
_TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# Headers the server sets itself; the toolkit refuses these too.
_RESERVED_HEADERS = {"content-type", "content-length", "content-encoding", "www-authenticate", "date"}
# Checked against when the user is unknown, so that a wrong user name takes as long as a wrong password.
_DUMMY_HASH = b"$2b$10$ZVV2tsEAOsNpTvgHhKN1KeXyoFGV0Nhm77KiRyGg2nI8mpXqTh/pW"
_CACHE_SIZE = 256


@dataclass(frozen=True)
class TLSServerConfig:
    """The ``tls_server_config`` section."""

    cert_file: str
    key_file: str
    client_ca_file: str | None = None
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"
    max_version: str | None = None

    def context(self) -> ssl.SSLContext:
        """Build the server-side SSL context (raise ConfigError when a file is unusable)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = _TLS_VERSIONS[self.min_version]
        if self.max_version is not None:
            ctx.maximum_version = _TLS_VERSIONS[self.max_version]
        try:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"tls_server_config: cannot load cert_file {self.cert_file} / key_file {self.key_file}: "
                f"{getattr(exc, 'strerror', None) or exc}"
            ) from None
        ctx.verify_mode = _CLIENT_AUTH[self.client_auth_type]
        if self.client_ca_file is not None:
            try:
                ctx.load_verify_locations(cafile=self.client_ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"tls_server_config.client_ca_file: cannot load {self.client_ca_file}: {exc}"
                ) from None
        return ctx


@dataclass(frozen=True)
class WebConfig:
    """A parsed web config file; the empty one means plain HTTP without authentication."""

    tls: TLSServerConfig | None = None
    basic_auth_users: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    source: str = "<none>"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server SSL context, or None for plain HTTP."""
        return self.tls.context() if self.tls is not None else None

    def authenticator(self) -> BasicAuth | None:
        """A basic-auth checker, or None when no users are configured."""
        return BasicAuth(self.basic_auth_users) if self.basic_auth_users else None


def _mapping(value: Any, where: str, allowed: set[str], source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {where}: must be a mapping")
    for key in value:
        if key not in allowed:
            raise ConfigError(
                f"{source}: {where}.{key}: unknown or unsupported key (expected one of: "
                f"{', '.join(sorted(allowed))})"
            )
    return value


def _string(value: Any, where: str, source: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: {where}: must be a non-empty string")
    return value


def parse_web_config(text: str, source: str = "<string>") -> WebConfig:
    """Parse and validate web config YAML; raise ConfigError naming ``source`` and the key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    top = _mapping(data, "web config", _TOP_KEYS, source) if data is not None else {}
    tls: TLSServerConfig | None = None
    if top.get("tls_server_config") is not None:
        t = _mapping(top["tls_server_config"], "tls_server_config", _TLS_KEYS, source)
        base = Path(source).parent if source not in ("<string>", "<none>") else Path(".")
        files = {}
        for key in ("cert_file", "key_file", "client_ca_file"):
            if t.get(key) is not None:
                p = Path(_string(t[key], f"tls_server_config.{key}", source))
                files[key] = str(p if p.is_absolute() else base / p)
        for key in ("cert_file", "key_file"):
            if key not in files:
                raise ConfigError(f"{source}: tls_server_config.{key}: required when TLS is configured")
        auth_type = t.get("client_auth_type") or "NoClientCert"
        if auth_type in _UNVERIFIED_CLIENT_AUTH:
            raise ConfigError(
                f"{source}: tls_server_config.client_auth_type: {auth_type} accepts unverified "
                "certificates and is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            )
        if auth_type not in _CLIENT_AUTH:
            raise ConfigError(
                f"{source}: tls_server_config.client_auth_type: must be one of {', '.join(_CLIENT_AUTH)}"
            )
        if auth_type != "NoClientCert" and "client_ca_file" not in files:
            raise ConfigError(f"{source}: tls_server_config.client_ca_file: required for {auth_type}")
        versions = {}
        for key in ("min_version", "max_version"):
            v = t.get(key)
            if v is not None and v not in _TLS_VERSIONS:
                raise ConfigError(
                    f"{source}: tls_server_config.{key}: must be one of {', '.join(_TLS_VERSIONS)}"
                )
            versions[key] = v
        tls = TLSServerConfig(
            cert_file=files["cert_file"],
            key_file=files["key_file"],
            client_ca_file=files.get("client_ca_file"),
            client_auth_type=auth_type,
            min_version=versions["min_version"] or "TLS12",
            max_version=versions["max_version"],
        )
    users: dict[str, str] = {}
    raw_users = top.get("basic_auth_users")
    if raw_users is not None:
        if not isinstance(raw_users, dict):
            raise ConfigError(f"{source}: basic_auth_users: must be a mapping of user name to bcrypt hash")
        for user, hashed in raw_users.items():
            where = f"basic_auth_users.{user}"
            if not isinstance(user, str) or not user or ":" in user:
                raise ConfigError(f"{source}: {where}: not a valid user name")
            if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
                raise ConfigError(f"{source}: {where}: must be a bcrypt hash ($2y$...), not a password")
            users[user] = hashed
        if users:
            _bcrypt()  # fail at start-up, not on the first scrape
    headers: dict[str, str] = {}
    http_cfg = _mapping(top.get("http_server_config"), "http_server_config", _HTTP_KEYS, source)
    if http_cfg.get("headers") is not None:
        if not isinstance(http_cfg["headers"], dict):
            raise ConfigError(f"{source}: http_server_config.headers: must be a mapping")
        for name, value in http_cfg["headers"].items():
            if str(name).lower() in _RESERVED_HEADERS:
                raise ConfigError(f"{source}: http_server_config.headers.{name}: may not be set")
            headers[str(name)] = str(value)
    return WebConfig(tls=tls, basic_auth_users=users, headers=headers, source=source)


def load_web_config(path: str | None) -> WebConfig:
    """Load the web config file at ``path`` (None: plain HTTP, no auth)."""
    if path is None:
        return WebConfig()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: web config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read web config: {exc.strerror}") from None
    return parse_web_config(text, path)


def _bcrypt() -> Any:
    try:
        import bcrypt
    except ImportError:
        raise ConfigError(
            "basic_auth_users needs the bcrypt package: pip install 'regwatch[serve-auth]' (or bcrypt)"
        ) from None
    return bcrypt


class BasicAuth:
    """Check ``Authorization: Basic`` headers against bcrypt hashes.

    bcrypt is slow on purpose (tens of milliseconds); Prometheus sends the same credentials every
    scrape, so successful checks are remembered by a keyed hash of user and password (as the
    exporter toolkit does). Failures are never cached.
    """

    def __init__(self, users: dict[str, str]) -> None:
        self._users = {u: h.encode() for u, h in users.items()}
        self._bcrypt = _bcrypt()
        self._key = hashlib.sha256(repr(sorted(users.items())).encode()).digest()
        self._ok: dict[bytes, None] = {}
        self._lock = threading.Lock()

    def check(self, header: str | None) -> bool:
        """Return True when ``header`` carries a configured user and the right password."""
        if not header or header[:6].lower() != "basic ":
            return False
        try:
            user_b, sep, password_b = b64decode(header[6:].strip(), validate=True).partition(b":")
            user = user_b.decode("utf-8")
        except (BinasciiError, UnicodeDecodeError, ValueError):
            return False
        if not sep:
            return False
        token = hmac.new(self._key, user_b + b"\0" + password_b, hashlib.sha256).digest()
        with self._lock:
            if token in self._ok:
                return True
        hashed = self._users.get(user)
        try:
            ok = bool(self._bcrypt.checkpw(password_b, hashed if hashed is not None else _DUMMY_HASH))
        except ValueError:  # bcrypt refuses passwords over 72 bytes and malformed hashes
            ok = False
        ok = ok and hashed is not None
        if ok:
            with self._lock:
                if len(self._ok) >= _CACHE_SIZE:
                    self._ok.pop(next(iter(self._ok)))
                self._ok[token] = None
        return ok
