"""Start real CNCF distribution (``docker-registry`` 2.8) instances on 127.0.0.1.

    reg = start_registry(tmp_path, "htpasswd", tls=True)
    ...                       # reg.url, reg.host, reg.username/password, reg.ca_file
    reg.stop(); reg.start()   # same port, same storage
    reg.stop()                # idempotent; also done at interpreter exit

Modes: ``anonymous`` (no auth), ``htpasswd`` (bcrypt file, user ``robot``) and
``token`` (a :class:`rig.tokenserver.TokenServer` started alongside, user ``robot``).

The registry's stdout and stderr both go to ``log_path`` (appended across restarts):
logrus lines (JSON or text per ``log_formatter``) on stderr and the Apache
combined-format access lines on stdout.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import http.client
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig.net import LOOPBACK, free_port, wait_until
from rig.tlsca import CertAuthority
from rig.tokenserver import TokenServer

ROBOT_USER = "robot"
ROBOT_PASSWORD = "robot-s3cret"
HTPASSWD_REALM = "regwatch-test"
MODES = ("anonymous", "htpasswd", "token")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

_LIVE: set[RunningRegistry] = set()
_LIVE_LOCK = threading.Lock()


def registry_binary() -> str:
    """Path of the distribution binary (``$REGWATCH_REGISTRY_BIN`` or ``docker-registry`` on PATH)."""
    explicit = os.environ.get("REGWATCH_REGISTRY_BIN")
    if explicit:
        return explicit
    found = shutil.which("docker-registry") or shutil.which("registry")
    if not found:
        raise RuntimeError(
            "docker-registry (CNCF distribution 2.8) is not installed: apt-get install docker-registry"
        )
    return found


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _dump_config(cfg: dict[str, Any]) -> str:
    try:
        import yaml
    except ImportError:  # JSON is valid YAML, and distribution reads it with yaml.v2
        import json

        return json.dumps(cfg, indent=2) + "\n"
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False)


def make_htpasswd(path: Path, users: dict[str, str]) -> Path:
    """Write a bcrypt htpasswd file (``htpasswd -B`` from apache2-utils, else python ``bcrypt``)."""
    lines = []
    exe = shutil.which("htpasswd")
    for user, password in users.items():
        if exe:
            out = subprocess.run(
                [exe, "-Bbn", "-C", "5", user, password], check=True, capture_output=True, text=True
            ).stdout
            lines.append(out.strip())
        else:
            try:
                import bcrypt
            except ImportError as e:  # pragma: no cover - CI installs apache2-utils
                raise RuntimeError("need htpasswd (apt-get install apache2-utils) or python bcrypt") from e
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
            lines.append(f"{user}:{hashed}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig TERM`` (util-linux): the registry gets SIGTERM if the test
    process dies without tearing down, so no orphan registries survive a killed run.
    (setpriv execs the registry, so the pid is the registry's.)"""
    exe = shutil.which("setpriv")
    return [exe, "--pdeathsig", "TERM"] if exe else []


@dataclass(eq=False)
class RunningRegistry:
    url: str  # "http://127.0.0.1:PORT" (https when tls)
    host: str  # "127.0.0.1:PORT"
    mode: str  # "anonymous" | "htpasswd" | "token"
    storage_dir: Path
    log_path: Path
    config_path: Path
    username: str | None
    password: str | None
    token_server: TokenServer | None
    ca_file: Path | None
    # -- extras (not part of the frozen API, but handy) --
    port: int = 0
    tls: bool = False
    base_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)  # what was written to config_path
    binary: str = ""
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self) -> None:
        """(Re)start on the same port and storage; waits until ``GET /v2/`` answers."""
        if self.running:
            return
        if self.token_server is not None:
            self.token_server.start()  # no-op when already running
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [*_pdeathsig_prefix(), self.binary, "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(self.base_dir or self.storage_dir.parent),
            )
        with _LIVE_LOCK:
            _LIVE.add(self)
        proc = self._proc

        def exited() -> str | None:
            rc = proc.poll()
            if rc is None:
                return None
            return f"docker-registry exited with {rc}; log tail:\n{self.log_tail()}"

        try:
            wait_until(self._answers, timeout=START_TIMEOUT, what=f"registry {self.url}/v2/", abort=exited)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after STOP_TIMEOUT). Idempotent. The token server is left running."""
        proc, self._proc = self._proc, None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def close(self) -> None:
        """Stop the registry and its token server (what fixtures call at teardown)."""
        self.stop()
        if self.token_server is not None:
            self.token_server.stop()

    def kill(self) -> None:
        """SIGKILL, for crash tests (no graceful drain)."""
        proc, self._proc = self._proc, None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def _answers(self) -> bool:
        try:
            self.request("GET", "/v2/", timeout=1.0)
            return True
        except (OSError, http.client.HTTPException):
            return False

    # -- helpers -----------------------------------------------------------------------
    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    @property
    def verify(self) -> str | bool:
        """Value for ``requests``' ``verify=``."""
        return str(self.ca_file) if (self.tls and self.ca_file) else True

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 5.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One raw HTTP request straight to the registry (no proxies, no auth dance)."""
        if self.tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                LOOPBACK, self.port, timeout=timeout, context=self.ssl_context()
            )
        else:
            conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def blob_path(self, digest: str) -> Path:
        algo, _, hexd = digest.partition(":")
        return self.storage_dir / "docker/registry/v2/blobs" / algo / hexd[:2] / hexd / "data"

    def repository_dir(self, repository: str) -> Path:
        return self.storage_dir / "docker/registry/v2/repositories" / repository

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def __enter__(self) -> RunningRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_registry(
    base_dir: Path,
    mode: str = "anonymous",
    *,
    tls: bool = False,
    notifications_url: str | None = None,
    notifications_headers: dict | None = None,
    log_formatter: str = "json",
    extra_config: dict | None = None,
    delete_enabled: bool = True,
    token_server: TokenServer | None = None,
    port: int | None = None,
) -> RunningRegistry:
    """Write a config under ``base_dir``, start the registry and wait for ``/v2/``.

    ``token_server``: use this (started or not) instead of a fresh one in token mode.
    ``port``: bind this port instead of a free one.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if log_formatter not in ("json", "text", "logstash"):
        raise ValueError(f"bad log_formatter {log_formatter!r}")
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    storage_dir = base_dir / "storage"
    storage_dir.mkdir(exist_ok=True)
    port = port or free_port()
    scheme = "https" if tls else "http"

    cfg: dict[str, Any] = {
        "version": "0.1",
        "log": {
            "level": "info",
            "formatter": log_formatter,
            "fields": {"service": "registry"},
            "accesslog": {"disabled": False},
        },
        "storage": {
            "filesystem": {"rootdirectory": str(storage_dir)},
            "delete": {"enabled": bool(delete_enabled)},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"{LOOPBACK}:{port}",
            "secret": secrets.token_hex(16),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }

    ca_file: Path | None = None
    if tls:
        ca = CertAuthority.create(base_dir / "ca")
        cert, key = ca.issue_server_cert(base_dir / "tls", [LOOPBACK, "localhost"])
        cfg["http"]["tls"] = {"certificate": str(cert), "key": str(key)}
        ca_file = ca.ca_file

    username = password = None
    own_token_server = False
    if mode == "htpasswd":
        username, password = ROBOT_USER, ROBOT_PASSWORD
        htpasswd = make_htpasswd(base_dir / "auth" / "htpasswd", {username: password})
        cfg["auth"] = {"htpasswd": {"realm": HTPASSWD_REALM, "path": str(htpasswd)}}
    elif mode == "token":
        if token_server is None:
            token_server = TokenServer({ROBOT_USER: ROBOT_PASSWORD}, directory=base_dir / "tokenserver")
            own_token_server = True
            username, password = ROBOT_USER, ROBOT_PASSWORD
        else:
            username, password = next(iter(token_server.users.items()), (None, None))
        token_server.start()
        cfg["auth"] = {
            "token": {
                "realm": token_server.url,
                "service": token_server.service,
                "issuer": token_server.issuer,
                "rootcertbundle": str(token_server.rootcertbundle),
            }
        }
    elif token_server is not None:
        raise ValueError("token_server only makes sense with mode='token'")

    if notifications_url:
        headers = {
            k: (list(v) if isinstance(v, list | tuple) else [str(v)])
            for k, v in (notifications_headers or {}).items()
        }
        endpoint: dict[str, Any] = {
            "name": "regwatch",
            "url": notifications_url,
            "timeout": "2s",
            "threshold": 3,
            "backoff": "1s",
        }
        if headers:
            endpoint["headers"] = headers
        cfg["notifications"] = {"events": {"includereferences": True}, "endpoints": [endpoint]}

    if extra_config:
        cfg = _deep_merge(cfg, extra_config)

    config_path = base_dir / "config.yml"
    config_path.write_text(_dump_config(cfg))

    reg = RunningRegistry(
        url=f"{scheme}://{LOOPBACK}:{port}",
        host=f"{LOOPBACK}:{port}",
        mode=mode,
        storage_dir=storage_dir,
        log_path=base_dir / "registry.log",
        config_path=config_path,
        username=username,
        password=password,
        token_server=token_server,
        ca_file=ca_file,
        port=port,
        tls=tls,
        base_dir=base_dir,
        config=cfg,
        binary=registry_binary(),
    )
    try:
        reg.start()
    except Exception:
        if own_token_server and token_server is not None:
            token_server.stop()
        raise
    return reg


def stop_all() -> None:
    """Stop every registry this process started and has not stopped yet."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for reg in live:
        with contextlib.suppress(Exception):
            reg.close()


atexit.register(stop_all)
