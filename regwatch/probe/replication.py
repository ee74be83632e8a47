"""The replication probe: push a fresh canary to one region, time its arrival in the others.

One probe: build a new image in memory (one small random layer, so nothing can be deduplicated
away), push it to ``from_region`` under a unique tag (``rw-<UTC time>-<random>``) through the OCI
push API, then poll every target region with ``HEAD`` on the manifest, every
``poll_interval_seconds``, until the tag resolves to the pushed digest. The lag of a region is the
time from the manifest ``PUT``'s answer to the first poll that saw the digest (so it is at most one
poll interval late). A region that has not served the digest ``timeout_seconds`` after the push is
a failure with reason ``replication_timeout``. Afterwards the canary's manifest is deleted by digest
in the source region and in every region that served it (unless ``keep_tags``); a registry with
deletes turned off answers 405 and the tag stays (logged, not a failure).

Waits are bounded: the push has the probe deadline (``probe.timeout_seconds``), each poll request
at most that too, and the polling window ends ``timeout_seconds`` after the push. Regions are
polled in parallel, each on its own thread, sleeping between polls (never spinning).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from regwatch.config import AuthPath, Config, ProbeConfig, Region, Replication
from regwatch.errors import ConfigError
from regwatch.oci import Credentials, Deadline, Limits, OciError, PushClient, RegistryClient, build_image
from regwatch.probe.credentials import credentials_for, redact, verify_for
from regwatch.probe.result import ProbeResult
from regwatch.timeutil import utcnow

log = logging.getLogger(__name__)

#: Payload bytes of the canary's one layer (the blob is ~1.1 KiB larger: tar and gzip headers).
CANARY_LAYER_BYTES = 2048
#: Poll errors that end a region's wait at once: waiting longer cannot fix them.
FATAL_REASONS = frozenset({"forbidden", "token_error", "tls"})


@dataclass(frozen=True)
class ReplicationTarget:
    """One configured replication probe, resolved against its registry."""

    registry: str
    spec: Replication
    from_region: Region
    auth_path: AuthPath
    targets: tuple[Region, ...]


@dataclass
class _Arrival:
    region: Region
    lag: float | None = None
    reason: str | None = None
    error: str | None = None
    status: int | None = None
    finished: float = 0.0  # monotonic time the wait ended


def canary_tag(now: datetime) -> str:
    """A unique canary tag: ``rw-<UTC time>-<8 hex>``."""
    return f"rw-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def replication_targets(cfg: Config, selection: object) -> list[ReplicationTarget]:
    """Every configured replication probe the selection keeps (targets filtered by ``--region``)."""
    out = []
    for spec in cfg.replication:
        reg = cfg.registry(spec.registry)
        if getattr(selection, "registry", None) not in (None, reg.name):
            continue
        if getattr(selection, "auth_path", None) not in (None, spec.auth_path):
            continue
        if getattr(selection, "canary", None) not in (None, spec.repository):
            continue
        names = spec.to_regions if spec.to_regions is not None else [r.name for r in reg.regions]
        wanted = getattr(selection, "region", None)
        targets = tuple(
            r
            for r in reg.regions
            if r.name in names and r.name != spec.from_region and wanted in (None, r.name)
        )
        if not targets:
            continue
        source = next(r for r in reg.regions if r.name == spec.from_region)
        ap = next(a for a in reg.auth_paths if a.name == spec.auth_path)
        out.append(ReplicationTarget(reg.name, spec, source, ap, targets))
    return out


def _wait_for(
    target: ReplicationTarget,
    region: Region,
    tag: str,
    digest: str,
    pushed_at: float,
    creds: Credentials | None,
    probe_cfg: ProbeConfig,
    stop: threading.Event,
) -> _Arrival:
    """Poll ``region`` until ``tag`` resolves to ``digest`` or the window closes."""
    spec = target.spec
    window_end = pushed_at + spec.timeout_seconds
    # The deadline outlasts the window by one request, so the last poll (at the window's end) can finish.
    deadline = Deadline(max(window_end - time.monotonic(), 0.0) + probe_cfg.timeout_seconds)
    client = RegistryClient(
        region.url,
        spec.repository,
        deadline=deadline,
        credentials=creds,
        verify=verify_for(region),
        limits=Limits(max_manifest_bytes=probe_cfg.max_manifest_bytes),
        request_timeout=probe_cfg.timeout_seconds,
    )
    out = _Arrival(region)
    authenticated = False
    refused = 0  # 401s in a row: one is an expired token, two is a refusal
    last: str | None = None
    next_at = time.monotonic()
    try:
        while True:
            try:
                if not authenticated:
                    client.authenticate()
                    authenticated = True
                found = client.head_manifest(tag)
                refused = 0
                out.status = client.last_status
                if found is not None and str(found) == digest:
                    out.lag = time.monotonic() - pushed_at
                    return out
                last = f"the tag resolves to {found}" if found is not None else "the tag is not there yet"
            except OciError as exc:
                out.status = exc.status
                last = str(exc)
                if exc.reason in FATAL_REASONS or (exc.reason == "unauthorized" and refused):
                    out.reason, out.error = exc.reason, f"polling {region.name}: {exc}"
                    return out
                if exc.reason == "unauthorized":
                    refused += 1
                    authenticated = False  # a token that expired during a long wait: fetch a new one
            now = time.monotonic()
            if now >= window_end or deadline.expired:
                break
            next_at = max(next_at + spec.poll_interval_seconds, now)
            if stop.wait(min(next_at, window_end) - now):
                last = "the probe was stopped"
                break
        out.reason = "replication_timeout"
        out.error = f"not replicated to {region.name} within {spec.timeout_seconds:g}s ({last})"
        return out
    finally:
        out.finished = time.monotonic()
        deadline.cancel()
        client.close()


def _cleanup(
    target: ReplicationTarget,
    regions: list[Region],
    digest: str,
    creds: Credentials | None,
    probe_cfg: ProbeConfig,
) -> str:
    """Delete the canary manifest by digest in ``regions``; return a summary (never raises)."""
    outcomes = []
    for region in regions:
        deadline = Deadline(probe_cfg.timeout_seconds)
        try:
            with PushClient(
                region.url, target.spec.repository, deadline=deadline, credentials=creds,
                verify=verify_for(region),
            ) as client:  # fmt: skip
                client.authenticate()
                outcome = client.delete_manifest(digest)
        except OciError as exc:
            outcome = f"failed ({exc.reason})"
            log.warning("replication canary %s not deleted in %s: %s", digest, region.name, exc)
        finally:
            deadline.cancel()
        if outcome == "unsupported":
            log.info("replication canary left in %s: the registry has deletes turned off", region.name)
        outcomes.append(f"{region.name}: {outcome}")
    return ", ".join(outcomes)


def probe_replication(
    target: ReplicationTarget,
    probe_cfg: ProbeConfig,
    *,
    started_at: datetime | None = None,
    round_id: str | None = None,
    stop: threading.Event | None = None,
) -> list[ProbeResult]:
    """Push a fresh canary to the source region and time its arrival in every target; never raises.

    Returns one result per target region (``region`` = the target, ``from_region`` = the source).
    """
    ts = started_at or utcnow()
    start = time.monotonic()
    spec = target.spec
    stop = stop or threading.Event()
    tag = canary_tag(ts)
    secret_values: list[str] = []
    creds: Credentials | None = None
    digest: str | None = None
    bytes_sent = 0
    push_error: tuple[str, str, int | None] | None = None
    deadline = Deadline(probe_cfg.timeout_seconds)
    client: PushClient | None = None
    try:
        creds, secret_values = credentials_for(target.auth_path)
        image = build_image([CANARY_LAYER_BYTES])
        client = PushClient(
            target.from_region.url, spec.repository, deadline=deadline, credentials=creds,
            verify=verify_for(target.from_region),
        )  # fmt: skip
        client.authenticate()
        report = client.push_image(image, tag, chunked=spec.chunked)
        digest = str(report.manifest_digest)
    except OciError as exc:
        push_error = (exc.reason, f"pushing the canary to {target.from_region.name}: {exc}", exc.status)
    except ConfigError as exc:
        push_error = ("unauthorized", f"credentials unavailable: {exc}", None)
    except Exception as exc:  # noqa: BLE001 - a probe never raises
        log.exception("replication probe of %s from %s crashed", spec.repository, target.from_region.name)
        push_error = ("protocol", f"internal error: {type(exc).__name__}", None)
    finally:
        deadline.cancel()
        if client is not None:
            secret_values += client.secret_values()
            bytes_sent = client.bytes_sent
            client.close()
    pushed_at = time.monotonic()

    arrivals: list[_Arrival]
    cleanup: str | None = None
    if push_error is not None or digest is None:
        reason, error, status = push_error or ("protocol", "no digest after the push", None)
        arrivals = [
            _Arrival(r, reason=reason, error=error, status=status, finished=pushed_at) for r in target.targets
        ]
        if digest is not None and not spec.keep_tags:
            cleanup = _cleanup(target, [target.from_region], digest, creds, probe_cfg)
    else:
        pushed = digest
        with ThreadPoolExecutor(len(target.targets), thread_name_prefix="regwatch-replication") as pool:
            arrivals = list(
                pool.map(
                    lambda r: _wait_for(target, r, tag, pushed, pushed_at, creds, probe_cfg, stop),
                    target.targets,
                )
            )
        if not spec.keep_tags:
            seen = [a.region for a in arrivals if a.lag is not None]
            cleanup = _cleanup(target, [target.from_region, *seen], pushed, creds, probe_cfg)
    return [
        ProbeResult(
            kind="replication",
            registry=target.registry,
            region=a.region.name,
            auth_path=target.auth_path.name,
            canary=spec.repository,
            repository=spec.repository,
            reference=tag,
            ts=ts,
            result="failure" if a.reason else "success",
            duration_seconds=a.finished - start,
            reason=a.reason,
            status=a.status,
            bytes=bytes_sent,
            manifest_digest=digest,
            error=redact(a.error, secret_values) if a.error else None,
            round_id=round_id,
            from_region=target.from_region.name,
            lag_seconds=a.lag,
            timeout_seconds=spec.timeout_seconds,
            cleanup=cleanup,
        )
        for a in arrivals
    ]
