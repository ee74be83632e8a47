"""Helpers of the replication and tag tests: configs, a skopeo "replicator", registry peeks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from rig import skopeo
from rig.registry import RunningRegistry

from regwatch.oci import Credentials, Deadline, Image, PushClient

PASSWORD_ENV = "REGWATCH_TEST_ROBOT_PASSWORD"
REPO = "regwatch/replication-canary"


def auth_path_yaml(reg: RunningRegistry, name: str = "pusher") -> str:
    if reg.username is None:
        return f"{{name: {name}, push: true}}"
    return f"{{name: {name}, username: {reg.username}, password_env: {PASSWORD_ENV}, push: true}}"


def tags(reg: RunningRegistry, repository: str) -> list[str]:
    """The repository's tags, read straight from the registry (anonymous registries only)."""
    status, _, body = reg.request("GET", f"/v2/{repository}/tags/list")
    if status == 404:
        return []
    assert status == 200, (status, body)
    return sorted(json.loads(body).get("tags") or [])


def manifest_status(reg: RunningRegistry, repository: str, ref: str) -> int:
    status, _, _ = reg.request("HEAD", f"/v2/{repository}/manifests/{ref}")
    return status


def copy(src: RunningRegistry, dst: RunningRegistry, repository: str, tag: str) -> None:
    """``skopeo copy docker://SRC/REPO:TAG docker://DST/REPO:TAG``, digests preserved."""
    args = ["copy", "--quiet", "--retry-times", "0", "--preserve-digests"]
    args += skopeo._creds_args(src, None, "src-") + skopeo._tls_args(src, "src-", True)
    args += skopeo._creds_args(dst, None, "dest-") + skopeo._tls_args(dst, "dest-", True)
    args += [skopeo.image_ref(src, repository, tag), skopeo.image_ref(dst, repository, tag)]
    skopeo.run(args, timeout=30)


@dataclass
class Replicator:
    """A background job that copies every new canary tag from a primary to a replica after ``delay``.

    It stands in for a registry's replication: it notices the tag on the primary (polling its tag
    list), waits ``delay`` seconds, then copies with skopeo. ``noticed``/``copied`` hold the
    monotonic times; ``errors`` what went wrong.
    """

    primary: RunningRegistry
    replica: RunningRegistry
    repository: str
    delay: float
    noticed: dict[str, float] = field(default_factory=dict)
    copied: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Replicator:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            for tag in tags(self.primary, self.repository):
                if tag in self.noticed:
                    continue
                self.noticed[tag] = time.monotonic()
                if self.stop.wait(self.delay):
                    return
                try:
                    copy(self.primary, self.replica, self.repository, tag)
                    self.copied[tag] = time.monotonic()
                except Exception as exc:  # noqa: BLE001 - reported by the test
                    self.errors.append(str(exc))

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=30)


def push(reg: RunningRegistry, repository: str, tag: str, image: Image) -> str:
    """Push ``image`` as ``repository:tag`` with regwatch's own push client; return its digest."""
    creds = Credentials(reg.username, reg.password or "") if reg.username else None
    deadline = Deadline(20)
    try:
        with PushClient(reg.url, repository, deadline=deadline, credentials=creds) as client:
            client.authenticate()
            return str(client.push_image(image, tag).manifest_digest)
    finally:
        deadline.cancel()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a text exposition, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
