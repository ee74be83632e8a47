"""Drive the real ``skopeo`` against a :class:`rig.registry.RunningRegistry`.

Hermetic: every call gets ``--insecure-policy`` plus a policy.json of our own, an
empty ``--registries.d``, its own ``--authfile`` and a private HOME /
XDG_RUNTIME_DIR / DOCKER_CONFIG / CONTAINERS_REGISTRIES_CONF, so nothing is read
from the user's home or /etc/containers/registries.conf. (As root skopeo still
keeps its blob-info cache in /var/lib/containers/cache; it re-checks every hint
against the registry, so a stale entry cannot make a push or pull lie.)

``creds``: ``None`` -> the registry's own valid credentials when it has auth;
``False`` -> anonymous (``--*-no-creds``); ``("user", "pass")`` or ``"user:pass"``.
HTTP registries get ``--*-tls-verify=false``; TLS registries get
``--*-cert-dir`` holding the rig CA (``use_ca=False`` to leave it out and see the
verification failure).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rig.registry import RunningRegistry

Creds = tuple[str, str] | str | bool | None
DEFAULT_TIMEOUT = 120.0


class SkopeoError(RuntimeError):
    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        shown = " ".join(_redact(argv))
        super().__init__(f"skopeo failed (exit {returncode}): {shown}\nstderr:\n{stderr.strip()}")


def _redact(argv: list[str]) -> list[str]:
    out, hide = [], False
    for a in argv:
        if hide:
            out.append(a.split(":", 1)[0] + ":***")
            hide = False
            continue
        if a in ("--creds", "--src-creds", "--dest-creds"):
            hide = True
        out.append(a)
    return out


def skopeo_binary() -> str:
    found = os.environ.get("REGWATCH_SKOPEO_BIN") or shutil.which("skopeo")
    if not found:
        raise RuntimeError("skopeo is not installed: apt-get install skopeo")
    return found


_HOME_LOCK = threading.Lock()
_HOME: Path | None = None


def _home() -> Path:
    """A private config home for skopeo, made once per process and removed at exit."""
    global _HOME
    with _HOME_LOCK:
        if _HOME is None:
            home = Path(tempfile.mkdtemp(prefix="regwatch-skopeo-"))
            (home / "registries.d").mkdir()
            (home / "run" / "containers").mkdir(parents=True)
            (home / "tmp").mkdir()
            (home / "policy.json").write_text(
                json.dumps({"default": [{"type": "insecureAcceptAnything"}]}) + "\n"
            )
            (home / "registries.conf").write_text(
                'unqualified-search-registries = []\nshort-name-mode = "disabled"\n'
            )
            (home / "auth.json").write_text('{"auths": {}}\n')
            _HOME = home
            atexit.register(shutil.rmtree, home, True)
        return _HOME


def skopeo_env() -> dict[str, str]:
    home = _home()
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(home / "run"),
        XDG_CONFIG_HOME=str(home / "config"),
        DOCKER_CONFIG=str(home / "docker"),
        REGISTRY_AUTH_FILE=str(home / "auth.json"),
        CONTAINERS_REGISTRIES_CONF=str(home / "registries.conf"),
        TMPDIR=str(home / "tmp"),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def run(
    args: list[str], *, timeout: float = DEFAULT_TIMEOUT, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``skopeo <global flags> args...``; raise :class:`SkopeoError` on failure (check=True)."""
    home = _home()
    argv = [
        skopeo_binary(),
        "--insecure-policy",
        "--policy",
        str(home / "policy.json"),
        "--registries.d",
        str(home / "registries.d"),
        "--tmpdir",
        str(home / "tmp"),
        *args,
    ]
    proc = subprocess.run(
        argv,
        check=False,
        capture_output=True,
        text=True,
        env=skopeo_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise SkopeoError(argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def _creds_args(reg: RunningRegistry, creds: Creds, prefix: str) -> list[str]:
    """prefix: "src-", "dest-" or "" (for inspect/delete)."""
    if creds is None:
        if reg.username is None:
            return [f"--{prefix}no-creds"] if prefix else ["--no-creds"]
        creds = (reg.username, reg.password or "")
    if creds is False:
        return [f"--{prefix}no-creds"]
    if creds is True:
        raise ValueError("creds=True is ambiguous; use None for the registry's own credentials")
    if isinstance(creds, tuple):
        creds = f"{creds[0]}:{creds[1]}"
    return [f"--{prefix}creds", str(creds)]


def _tls_args(reg: RunningRegistry, prefix: str, use_ca: bool) -> list[str]:
    if not reg.tls:
        return [f"--{prefix}tls-verify=false"]
    args = [f"--{prefix}tls-verify=true"]
    if use_ca and reg.ca_file is not None:
        args += [f"--{prefix}cert-dir", str(_cert_dir(reg))]
    return args


def _cert_dir(reg: RunningRegistry) -> Path:
    assert reg.ca_file is not None
    d = reg.ca_file.parent / "containers-certs"
    d.mkdir(parents=True, exist_ok=True)
    (d / "ca.crt").write_bytes(reg.ca_file.read_bytes())
    return d


def image_ref(reg: RunningRegistry, repository: str, ref: str) -> str:
    """``docker://HOST/REPO:TAG`` or ``docker://HOST/REPO@sha256:...``."""
    sep = "@" if ref.startswith("sha256:") else ":"
    return f"docker://{reg.host}/{repository}{sep}{ref}"


def _authfile_args(prefix: str) -> list[str]:
    return [f"--{prefix}authfile", str(_home() / "auth.json")]


def push(
    layout_dir: Path,
    reg: RunningRegistry,
    repository: str,
    tag: str,
    *,
    all_platforms: bool = False,
    creds: Creds = None,
    use_ca: bool = True,
    preserve_digests: bool = True,
    extra_args: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """``skopeo copy oci:LAYOUT docker://HOST/REPO:TAG``; returns the pushed manifest digest.

    ``preserve_digests`` (default) makes skopeo refuse to convert, so what the registry
    holds is byte-identical to the layout (its manifest digest == ImageInfo's).
    """
    digest_file = Path(tempfile.mkstemp(prefix="digest-", dir=_home() / "tmp")[1])
    try:
        args = ["copy", "--quiet", "--retry-times", "0", "--digestfile", str(digest_file)]
        if all_platforms:
            args.append("--all")
        if preserve_digests:
            args.append("--preserve-digests")
        args += _authfile_args("dest-") + _creds_args(reg, creds, "dest-") + _tls_args(reg, "dest-", use_ca)
        args += list(extra_args or [])
        args += [f"oci:{Path(layout_dir)}", image_ref(reg, repository, tag)]
        run(args, timeout=timeout)
        return digest_file.read_text().strip()
    finally:
        digest_file.unlink(missing_ok=True)


@dataclass
class PullResult:
    manifest_digest: str  # digest of the top-level manifest as served (list digest with all_platforms)
    manifest_bytes: bytes
    dest_dir: Path
    transport: str  # "dir" or "oci"

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest_bytes)


def pull(
    reg: RunningRegistry,
    repository: str,
    tag: str,
    dest_dir: Path,
    creds: Creds = None,
    *,
    transport: str = "dir",
    all_platforms: bool = False,
    use_ca: bool = True,
    extra_args: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> PullResult:
    """``skopeo copy docker://HOST/REPO:TAG dir:DEST`` (or ``oci:DEST``).

    ``dir:`` (default) stores the manifest exactly as served, so ``manifest_digest`` is
    the registry's digest. ``tag`` may also be a ``sha256:`` digest.
    """
    dest_dir = Path(dest_dir)
    if transport not in ("dir", "oci"):
        raise ValueError("transport must be 'dir' or 'oci'")
    if transport == "dir" and dest_dir.exists() and any(dest_dir.iterdir()):
        raise ValueError(f"{dest_dir} is not empty")
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    args = ["copy", "--quiet", "--retry-times", "0"]
    if all_platforms:
        args.append("--all")
    if transport == "oci":
        args.append("--preserve-digests")
    args += _authfile_args("src-") + _creds_args(reg, creds, "src-") + _tls_args(reg, "src-", use_ca)
    args += list(extra_args or [])
    args += [image_ref(reg, repository, tag), f"{transport}:{dest_dir}"]
    run(args, timeout=timeout)
    if transport == "dir":
        data = (dest_dir / "manifest.json").read_bytes()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
    else:
        index = json.loads((dest_dir / "index.json").read_text())
        digest = index["manifests"][-1]["digest"]
        data = (dest_dir / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()
    return PullResult(manifest_digest=digest, manifest_bytes=data, dest_dir=dest_dir, transport=transport)


def inspect_raw(
    reg: RunningRegistry,
    repository: str,
    ref: str,
    creds: Creds = None,
    *,
    use_ca: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """``skopeo inspect --raw``: the manifest (or manifest list / index) exactly as served."""
    args = ["inspect", "--raw", "--retry-times", "0"]
    args += _authfile_args("") + _creds_args(reg, creds, "") + _tls_args(reg, "", use_ca)
    args.append(image_ref(reg, repository, ref))
    return run(args, timeout=timeout).stdout.encode()


def delete(
    reg: RunningRegistry,
    repository: str,
    ref: str,
    creds: Creds = None,
    *,
    use_ca: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """``skopeo delete`` a manifest by tag or digest (a tag is resolved to its digest,
    so every tag pointing at that manifest goes). Needs ``delete_enabled``."""
    args = ["delete", "--retry-times", "0"]
    args += _authfile_args("") + _creds_args(reg, creds, "") + _tls_args(reg, "", use_ca)
    args.append(image_ref(reg, repository, ref))
    run(args, timeout=timeout)
