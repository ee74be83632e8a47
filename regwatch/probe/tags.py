"""The tag-integrity probe: what each protected tag resolves to, in each region, every round.

A tag is checked with ``HEAD /v2/<repo>/manifests/<tag>`` (``GET`` and hash when the registry
gives no ``Docker-Content-Digest``): the digest, or *absent* on a 404. The observation is compared
with the **last digest the tag was seen at** (from ``tag_observations``, so it survives restarts):

* ``present``: the tag resolves now;
* ``changed`` (a *move*): the tag resolves now, to a digest other than the last one seen. A tag
  that disappears is not a move (``present`` says so); one that comes back at another digest is.

A tag probe fails when the tag is absent (reason ``not_found``) or moved (``digest_mismatch``);
a move fails one round only, since the next round compares with the new digest. When the check
itself fails (timeout, 401, 5xx…) the result is a failure with that reason, ``present`` is None and
nothing is written to ``tag_observations``: an outage is not evidence that a tag vanished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime

from regwatch.config import AuthPath, Config, ProbeConfig, ProtectedTags, Region
from regwatch.errors import ConfigError
from regwatch.oci import Deadline, Limits, OciError, RegistryClient
from regwatch.probe.credentials import credentials_for, redact, verify_for
from regwatch.probe.result import ProbeResult
from regwatch.timeutil import utcnow

log = logging.getLogger(__name__)

#: (registry, region, repository, tag)
TagKey = tuple[str, str, str, str]

# Tag probe: the last digest each protected tag was seen at (absent observations carry none).
# One row per (registry, region, repository, tag) that was ever seen present.
LAST_SEEN_SQL = """
SELECT registry, region, repository, tag, arg_max(digest, ts) AS digest
FROM tag_observations
WHERE present
GROUP BY registry, region, repository, tag
"""


def load_previous_tags(store: object) -> dict[TagKey, str]:
    """The last digest every protected tag was seen at, from the store's ``tag_observations``."""
    rows = store.fetchall(LAST_SEEN_SQL)  # type: ignore[attr-defined]
    return {(r[0], r[1], r[2], r[3]): r[4] for r in rows}


def tag_auth_path(cfg: Config, pt: ProtectedTags) -> AuthPath:
    """The auth path a protected-tags entry is checked with (its own, else the registry's first)."""
    reg = cfg.registry(pt.registry)
    if pt.auth_path is None:
        return reg.auth_paths[0]
    return next(a for a in reg.auth_paths if a.name == pt.auth_path)


def tag_regions(cfg: Config, pt: ProtectedTags) -> list[Region]:
    """The regions a protected-tags entry is checked in (its own list, else every region)."""
    reg = cfg.registry(pt.registry)
    return [r for r in reg.regions if pt.regions is None or r.name in pt.regions]


def probe_tag(
    registry: str,
    region: Region,
    auth_path: AuthPath,
    repository: str,
    tag: str,
    probe_cfg: ProbeConfig,
    *,
    previous: str | None,
    started_at: datetime | None = None,
    round_id: str | None = None,
) -> ProbeResult:
    """Check one protected tag in one region against ``previous`` (its last digest); never raises."""
    ts = started_at or utcnow()
    start = time.monotonic()
    deadline = Deadline(probe_cfg.timeout_seconds)
    secrets: list[str] = []
    client: RegistryClient | None = None
    reason = error = None
    status: int | None = None
    present: bool | None = None
    digest: str | None = None
    try:
        creds, secrets = credentials_for(auth_path)
        client = RegistryClient(
            region.url,
            repository,
            deadline=deadline,
            credentials=creds,
            verify=verify_for(region),
            limits=Limits(max_manifest_bytes=probe_cfg.max_manifest_bytes),
        )
        client.authenticate()
        found = client.head_manifest(tag)
        status = client.last_status
        present = found is not None
        digest = str(found) if found is not None else None
    except OciError as exc:
        reason, error, status = exc.reason, str(exc), exc.status
    except ConfigError as exc:
        reason, error = "unauthorized", f"credentials unavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - a probe never raises
        log.exception("tag probe of %s:%s via %s/%s crashed", repository, tag, registry, region.name)
        reason, error = "protocol", f"internal error: {type(exc).__name__}"
    finally:
        deadline.cancel()
        if client is not None:
            secrets += client.secret_values()
            client.close()
    changed = bool(present and previous is not None and digest != previous)
    if present is False:
        reason, error = (
            "not_found",
            f"tag {tag} is missing in {region.name}" + (f" (last seen at {previous})" if previous else ""),
        )
    elif changed:
        reason, error = "digest_mismatch", f"tag {tag} moved from {previous} to {digest}"
    return ProbeResult(
        kind="tag",
        registry=registry,
        region=region.name,
        auth_path=auth_path.name,
        canary=f"{repository}:{tag}",
        repository=repository,
        reference=tag,
        ts=ts,
        result="failure" if reason else "success",
        duration_seconds=time.monotonic() - start,
        reason=reason,
        status=status,
        manifest_digest=digest,
        error=redact(error, secrets) if error else None,
        round_id=round_id,
        tag=tag,
        present=present,
        changed=changed,
        previous_digest=previous,
    )


def tag_jobs(cfg: Config, selection: object) -> list[tuple[str, ProtectedTags, Region, AuthPath, str]]:
    """Every (describe, entry, region, auth path, tag) the selection keeps, in config order."""
    out = []
    for pt in cfg.protected_tags:
        if getattr(selection, "registry", None) not in (None, pt.registry):
            continue
        ap = tag_auth_path(cfg, pt)
        if getattr(selection, "auth_path", None) not in (None, ap.name):
            continue
        for region in tag_regions(cfg, pt):
            if getattr(selection, "region", None) not in (None, region.name):
                continue
            for tag in pt.tags:
                if getattr(selection, "canary", None) not in (None, pt.repository, f"{pt.repository}:{tag}"):
                    continue
                what = f"tag {pt.repository}:{tag} via {pt.registry}/{region.name}/{ap.name}"
                out.append((what, pt, region, ap, tag))
    return out


def previous_for(previous: Mapping[TagKey, str] | None, key: TagKey) -> str | None:
    """The last digest seen for ``key`` (None when there is no history)."""
    return previous.get(key) if previous else None
