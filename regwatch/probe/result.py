"""One probe's outcome: what ``regwatch probe --json`` prints and what ``probe_results`` stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from regwatch.catalog import PROBE_KINDS, PROBE_PHASES, PROBE_REASONS, PROBE_RESULTS
from regwatch.store import transaction

#: Columns of ``probe_results`` (regwatch/schema/001_initial.sql) in table order; ``to_row`` follows it.
COLUMNS: tuple[str, ...] = (
    "ts", "kind", "round_id", "registry", "region", "auth_path", "canary", "repository", "reference",
    "result", "reason", "status", "bytes", "duration_s", "connect_s", "auth_s", "manifest_s", "config_s",
    "layers_s", "manifest_digest", "retry_after_s", "error", "from_region", "lag_s",
)  # fmt: skip

# Inserts one probe result; parameters bound in COLUMNS order.
INSERT_SQL = f"INSERT INTO probe_results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

#: Columns of ``tag_observations``; ``ProbeResult.to_observation`` follows it.
OBSERVATION_COLUMNS: tuple[str, ...] = (
    "ts", "registry", "region", "repository", "tag", "digest", "present", "changed", "previous_digest", "status",
)  # fmt: skip

# Inserts one protected-tag observation; parameters bound in OBSERVATION_COLUMNS order.
INSERT_OBSERVATION_SQL = (
    f"INSERT INTO tag_observations ({', '.join(OBSERVATION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(OBSERVATION_COLUMNS))})"
)

#: Phases that are stored in their own column (``total`` is ``duration_s``).
TIMED_PHASES: tuple[str, ...] = tuple(p for p in PROBE_PHASES if p != "total")


@dataclass
class ProbeResult:
    """The outcome of one probe of any kind (``pull``, ``replication``, ``tag``)."""

    kind: str
    registry: str
    region: str
    auth_path: str
    canary: str
    repository: str
    reference: str
    ts: datetime  # aware UTC: when the probe started
    result: str  # success | failure
    duration_seconds: float
    reason: str | None = None
    status: int | None = None
    bytes: int = 0
    phases: dict[str, float | None] = field(default_factory=dict)
    retry_after_seconds: float | None = None
    manifest_digest: str | None = None
    error: str | None = None
    round_id: str | None = None
    from_region: str | None = None  # replication probes
    lag_seconds: float | None = None  # replication probes
    timeout_seconds: float | None = None  # replication probes: the configured limit (metrics only)
    cleanup: str | None = None  # replication probes: what deleting the canary did, per region
    tag: str | None = None  # tag probes
    present: bool | None = None  # tag probes: None when the check itself failed
    changed: bool = False  # tag probes: the digest moved since the last digest seen
    previous_digest: str | None = None  # tag probes: the last digest seen before this observation

    def __post_init__(self) -> None:
        if self.kind not in PROBE_KINDS:
            raise ValueError(f"unknown probe kind {self.kind!r}")
        if self.result not in PROBE_RESULTS:
            raise ValueError(f"unknown probe result {self.result!r}")
        if self.reason is not None and self.reason not in PROBE_REASONS:
            raise ValueError(f"unknown probe reason {self.reason!r}")
        if (self.result == "failure") != (self.reason is not None):
            raise ValueError("a failure needs a reason, a success must not have one")

    @property
    def ok(self) -> bool:
        return self.result == "success"

    @property
    def labels(self) -> dict[str, str]:
        """The metric labels of this probe (catalog.PROBE_LABELS)."""
        return {
            "registry": self.registry,
            "region": self.region,
            "auth_path": self.auth_path,
            "canary": self.canary,
        }

    def phase(self, name: str) -> float | None:
        if name == "total":
            return self.duration_seconds
        return self.phases.get(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``regwatch probe --json``."""
        return (
            {
                "registry": self.registry,
                "region": self.region,
                "auth_path": self.auth_path,
                "canary": self.canary,
                "kind": self.kind,
                "result": self.result,
                "reason": self.reason,
                "status": self.status,
                "bytes": self.bytes,
                "duration_seconds": self.duration_seconds,
                "phases": {p: self.phase(p) for p in PROBE_PHASES},
                "ts": self.ts.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "retry_after_seconds": self.retry_after_seconds,
                "manifest_digest": self.manifest_digest,
                "error": self.error,
                "repository": self.repository,
                "reference": self.reference,
                "round_id": self.round_id,
                "from_region": self.from_region,
                "lag_seconds": self.lag_seconds,
            }
            | (self._tag_dict() if self.kind == "tag" else {})
            | ({"cleanup": self.cleanup} if self.kind == "replication" else {})
        )

    def _tag_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "digest": self.manifest_digest if self.present else None,
            "present": self.present,
            "changed": self.changed,
            "previous_digest": self.previous_digest,
        }

    def to_observation(self) -> tuple[Any, ...] | None:
        """The ``tag_observations`` row of a tag probe (None when presence is unknown or not a tag)."""
        if self.kind != "tag" or self.present is None:
            return None
        return (
            self.ts.astimezone(UTC).replace(tzinfo=None),
            self.registry,
            self.region,
            self.repository,
            self.tag,
            self.manifest_digest if self.present else None,
            self.present,
            self.changed,
            self.previous_digest,
            self.status,
        )

    def to_row(self) -> tuple[Any, ...]:
        """The ``probe_results`` row, in ``COLUMNS`` order (ts as naive UTC)."""
        return (
            self.ts.astimezone(UTC).replace(tzinfo=None),
            self.kind,
            self.round_id,
            self.registry,
            self.region,
            self.auth_path,
            self.canary,
            self.repository,
            self.reference,
            self.result,
            self.reason,
            self.status,
            self.bytes,
            self.duration_seconds,
            *(self.phases.get(p) for p in TIMED_PHASES),
            self.manifest_digest,
            self.retry_after_seconds,
            self.error,
            self.from_region,
            self.lag_seconds,
        )


def store_results(store: Any, results: list[ProbeResult]) -> int:
    """Insert results into ``probe_results`` (and tag probes' observations into ``tag_observations``)
    in one transaction; return how many results were written."""
    if not results:
        return 0
    conn = store.conn
    observations = [o for r in results if (o := r.to_observation()) is not None]
    with transaction(conn):
        conn.executemany(INSERT_SQL, [r.to_row() for r in results])
        if observations:
            conn.executemany(INSERT_OBSERVATION_SQL, observations)
    return len(results)
