"""Hand-built rows for the named postmortem queries (times are 2026-11-20, UTC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

T0 = datetime(2026, 11, 20, 10, 0, 0)
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
LAYER = "sha256:" + "c" * 64

REQUEST_COLUMNS = (
    "ts", "registry", "region", "source", "line", "client_ip", "user", "method", "route", "repository",
    "reference", "digest", "status", "bytes_sent", "duration_s", "user_agent", "request_id",
)  # fmt: skip


def _t(minute: int, second: int = 0) -> datetime:
    return T0.replace(minute=minute, second=second)


# ts, region, client, user, method, route, repository, reference, digest, status, bytes, duration, ua, request id
REQUESTS: list[tuple[Any, ...]] = [
    # alice pulls platform/base by tag; the response said it was DIGEST_A
    (_t(0), "us", "10.0.0.1", "alice", "GET", "manifest", "platform/base", "stable", DIGEST_A, 200, 1000, 0.10, "docker/24", "r1"),
    (_t(0, 1), "us", "10.0.0.1", "alice", "GET", "blob", "platform/base", LAYER, LAYER, 200, 50000, 0.50, "docker/24", "r2"),
    # bob pulls by digest twice, once a HEAD (not a pull)
    (_t(1), "us", "10.0.0.2", "bob", "GET", "manifest", "platform/base", DIGEST_A, DIGEST_A, 200, 1000, 0.30, "containerd/1.7", "r3"),
    (_t(1, 30), "us", "10.0.0.2", "bob", "HEAD", "manifest", "platform/base", DIGEST_A, DIGEST_A, 200, 0, 0.05, "containerd/1.7", "r4"),
    (_t(2), "us", "10.0.0.2", "bob", "GET", "manifest", "platform/base", "stable", DIGEST_A, 200, 1000, 0.20, "containerd/1.7", "r5"),
    # ci pulls platform/base:v2 (DIGEST_B): 503, retried after 10 s (retry), 503 again, retried 90 s later (not
    # a retry at 60 s), then a 401 challenge and a 200 (the 200 follows a good pull: not a retry)
    (_t(3), "eu", "10.0.0.3", None, "GET", "manifest", "platform/base", "v2", None, 503, 0, 2.50, "ci/1", "r6"),
    (_t(3, 10), "eu", "10.0.0.3", None, "GET", "manifest", "platform/base", "v2", DIGEST_B, 200, 900, 0.40, "ci/1", "r7"),
    (_t(4), "eu", "10.0.0.3", None, "GET", "manifest", "platform/base", "v2", None, 503, 0, 3.00, "ci/1", "r8"),
    (_t(5, 30), "eu", "10.0.0.3", None, "GET", "manifest", "platform/base", "v2", DIGEST_B, 200, 900, 0.45, "ci/1", "r9"),
    (_t(6), "eu", "10.0.0.3", None, "GET", "manifest", "platform/base", "v2", None, 401, 0, 0.01, "ci/1", "r10"),
    (_t(6, 1), "eu", "10.0.0.3", None, "GET", "manifest", "platform/base", "v2", DIGEST_B, 200, 900, 0.35, "ci/1", "r11"),
    # team/app: throttled and denied
    (_t(6), "eu", "10.0.0.4", "carol", "GET", "manifest", "team/app", "v1", None, 429, 0, 0.02, "skopeo/1.9", "r12"),
    (_t(6, 5), "eu", "10.0.0.4", "carol", "GET", "manifest", "team/app", "v1", None, 403, 0, 0.02, "skopeo/1.9", "r13"),
    (_t(6, 6), "eu", "10.0.0.5", "mallory", "GET", "token", None, None, None, 401, 0, 0.01, "curl/8", "r14"),
    (_t(6, 7), "eu", "10.0.0.5", "mallory", "GET", "token", None, None, None, 401, 0, 0.01, "curl/8", "r15"),
    (_t(8), "eu", "10.0.0.4", "carol", "GET", "blob", "team/app", LAYER, LAYER, 206, 7000, 0.90, "skopeo/1.9", "r16"),
    # the day before: outside --since 2026-11-20
    (datetime(2026, 11, 19, 9, 0), "us", "10.0.0.9", "eve", "GET", "manifest", "platform/base", "stable", DIGEST_A, 200, 1000, 1.5, "docker/23", "r0"),
]  # fmt: skip

AUDIT = [
    # (id, ts, action, repository, tag, digest, actor, client_addr, user_agent, request_id)
    ("e-push-1", datetime(2026, 11, 18, 8, 0), "push", "platform/base", "stable", DIGEST_A, "ci", "10.9.9.9:41000", "buildkit", "p1"),
    ("e-push-2", datetime(2026, 11, 18, 8, 1), "push", "platform/base", None, LAYER, "ci", "10.9.9.9:41000", "buildkit", "p2"),
    ("e-pull-r1", _t(0), "pull", "platform/base", "stable", DIGEST_A, "alice", "10.0.0.1:50000", "docker/24", "r1"),
    ("e-pull-x", _t(9), "pull", "platform/base", None, DIGEST_A, "dave", "[2001:db8::7]:443", "podman/4", "x1"),
    ("e-push-3", _t(10), "push", "platform/base", "stable", DIGEST_B, "ci", "10.9.9.9:41001", "buildkit", "p3"),
    ("e-del-1", _t(11), "delete", "platform/base", None, DIGEST_A, "admin", "10.9.9.8:1", "curl/8", "d1"),
]  # fmt: skip

TAG_OBSERVATIONS = [
    # (ts, region, tag, digest, present, changed, previous_digest)
    (_t(5), "us", "stable", DIGEST_A, True, False, None),
    (_t(12), "us", "stable", DIGEST_B, True, True, DIGEST_A),
    (_t(13), "us", "stable", None, False, False, DIGEST_B),  # absence is not a move
    (_t(14), "us", "stable", None, False, False, DIGEST_B),
    (_t(15), "us", "stable", DIGEST_B, True, False, DIGEST_B),  # back at the last digest seen: not a move
    (_t(12), "us", "latest", DIGEST_A, True, False, None),
]

PROBES = [
    # (ts, kind, region, auth_path, result, reason, status, error)
    (_t(0), "pull", "us", "anonymous", "success", None, 200, None),
    (_t(1), "pull", "us", "anonymous", "failure", "server_error", 503, "GET manifest: 503"),
    (_t(2), "pull", "us", "anonymous", "failure", "server_error", 502, "GET blob: 502"),
    (_t(3), "pull", "eu", "robot", "failure", "unauthorized", 401, "token refused"),
    (_t(4), "pull", "eu", "robot", "success", None, 200, None),
    (
        _t(5),
        "replication",
        "eu",
        "robot",
        "failure",
        "replication_timeout",
        None,
        "not replicated after 300s",
    ),
]
