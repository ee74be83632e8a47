"""The pull probe: one first-attempt pull of one canary through one region and one auth path.

It pulls the way a container runtime on a cold node does: a fresh connection pool, ping and
auth challenge, manifest (an index resolved to the canary's platform), config, every layer, each
verified. Nothing is retried. It never raises: every failure becomes a result with a reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from regwatch.config import AuthPath, Canary, ProbeConfig, Region
from regwatch.errors import ConfigError
from regwatch.oci import Deadline, Limits, OciError, RegistryClient, TokenCache
from regwatch.probe.credentials import credentials_for, redact, verify_for
from regwatch.probe.result import ProbeResult
from regwatch.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullTarget:
    """One cell of the probe matrix."""

    registry: str
    region: Region
    auth_path: AuthPath
    canary: Canary


@contextmanager
def _timed(phases: dict[str, float | None], name: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        phases[name] = time.monotonic() - start


def probe_pull(
    target: PullTarget,
    probe_cfg: ProbeConfig,
    *,
    tokens: TokenCache | None = None,
    started_at: datetime | None = None,
    round_id: str | None = None,
) -> ProbeResult:
    """Pull ``target.canary`` once through ``target.region`` as ``target.auth_path``; never raises."""
    ts = started_at or utcnow()
    start = time.monotonic()
    deadline = Deadline(probe_cfg.timeout_seconds)
    phases: dict[str, float | None] = {p: None for p in ("connect", "auth", "manifest", "config", "layers")}
    secrets: list[str] = []
    client: RegistryClient | None = None
    reason: str | None = None
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None
    manifest_digest: str | None = None
    try:
        creds, secrets = credentials_for(target.auth_path)
        client = RegistryClient(
            target.region.url,
            target.canary.repository,
            deadline=deadline,
            credentials=creds,
            verify=verify_for(target.region),
            limits=Limits(max_manifest_bytes=probe_cfg.max_manifest_bytes),
            tokens=tokens,
        )
        with _timed(phases, "auth"):
            client.authenticate()
        with _timed(phases, "manifest"):
            image = client.resolve(target.canary.reference, target.canary.platform)
        manifest_digest = str(image.digest)
        with _timed(phases, "config"):
            client.fetch_blob(image.config, "config")
        with _timed(phases, "layers"):
            for i, layer in enumerate(image.layers):
                client.fetch_blob(layer, f"layer {i}")
    except OciError as exc:
        reason, error, status, retry_after = exc.reason, str(exc), exc.status, exc.retry_after
    except ConfigError as exc:  # an unreadable password: the pull cannot present its credentials
        reason, error = "unauthorized", f"credentials unavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - a probe never raises; a bug is still a failed pull
        log.exception(
            "probe of %s via %s/%s crashed", target.canary.label, target.registry, target.region.name
        )
        reason, error = "protocol", f"internal error: {type(exc).__name__}"
    finally:
        deadline.cancel()
        if client is not None:
            secrets += client.secret_values()
            client.close()
    duration = time.monotonic() - start
    if deadline.connections:
        phases["connect"] = deadline.connect_seconds
    if client is not None and status is None and reason is None:
        status = client.last_status
    return ProbeResult(
        kind="pull",
        registry=target.registry,
        region=target.region.name,
        auth_path=target.auth_path.name,
        canary=target.canary.label,
        repository=target.canary.repository,
        reference=target.canary.reference,
        ts=ts,
        result="failure" if reason else "success",
        duration_seconds=duration,
        reason=reason,
        status=status,
        bytes=client.bytes_read if client is not None else 0,
        phases=phases,
        retry_after_seconds=retry_after,
        manifest_digest=manifest_digest,
        error=redact(error, secrets) if error else None,
        round_id=round_id,
    )
