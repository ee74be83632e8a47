"""Pure pieces of the probe and the OCI client: challenges, platforms, Retry-After, hashing, metrics."""

from __future__ import annotations

import email.utils
import hashlib
import time
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from regwatch.oci import Descriptor, parse_challenges, parse_digest, retry_after_seconds, select_platform
from regwatch.oci.auth import Challenge, Credentials
from regwatch.oci.digest import CHUNK_BYTES, read_and_hash
from regwatch.oci.errors import OciError
from regwatch.probe import ProbeResult
from regwatch.probe.metrics import ProbeMetrics


def test_parse_challenges() -> None:
    header = (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:a/b:pull,push", Basic realm="x \\"y\\""'
    )
    assert parse_challenges(header) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.example.com/token",
                "service": "registry.example.com",
                "scope": "repository:a/b:pull,push",
            },
        ),
        Challenge("basic", {"realm": 'x "y"'}),
    ]
    assert parse_challenges("basic realm=plain") == [Challenge("basic", {"realm": "plain"})]
    assert parse_challenges("") == []
    assert parse_challenges('realm="r0", Bearer realm="r"') == [Challenge("bearer", {"realm": "r"})]


def test_credentials_hide_the_password() -> None:
    c = Credentials("robot", "hunter22")
    assert "hunter22" not in repr(c) and "hunter22" not in str(c)
    assert c.basic_header() == "Basic cm9ib3Q6aHVudGVyMjI="


def _entry(os_: str, arch: str, variant: str | None = None, n: int = 1) -> Descriptor:
    plat = {"os": os_, "architecture": arch} | ({"variant": variant} if variant else {})
    return Descriptor(
        "application/vnd.oci.image.manifest.v1+json", parse_digest("sha256:" + f"{n:064x}"), 1, plat
    )


def test_select_platform() -> None:
    entries = [_entry("linux", "arm", "v7", 1), _entry("linux", "arm64", None, 2), _entry("linux", "amd64", None, 3),
               _entry("unknown", "unknown", None, 4)]  # fmt: skip
    assert select_platform(entries, "linux/amd64") == entries[2]
    assert select_platform(entries, "linux/arm64/v8") == entries[1]  # v8 is arm64's default variant
    assert select_platform(entries, "linux/arm/v7") == entries[0]
    assert select_platform(entries, "linux/arm/v6") is None
    assert select_platform(entries, "windows/amd64") is None


def test_retry_after() -> None:
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after_seconds(future) or 0) <= 30


def test_parse_digest() -> None:
    assert str(parse_digest("sha512:" + "a" * 128)) == "sha512:" + "a" * 128
    for bad in ("sha256:" + "a" * 63, "md5:abc", "sha256:" + "A" * 64, None):
        with pytest.raises(OciError) as exc:
            parse_digest(bad)
        assert exc.value.reason == "manifest_invalid"


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
@pytest.mark.parametrize("size", [0, 1000, CHUNK_BYTES * 3 + 17])
def test_read_and_hash(algorithm: str, size: int) -> None:
    data = (bytes(range(251)) * (size // 251 + 1))[:size]
    pos = 0

    def readinto(view: memoryview) -> int:  # short reads, like a socket
        nonlocal pos
        n = min(len(view), 70_000, len(data) - pos)
        view[:n] = data[pos : pos + n]
        pos += n
        return n

    total, hexd = read_and_hash(readinto, algorithm, size + 1)
    assert (total, hexd) == (size, hashlib.new(algorithm, data).hexdigest())


def _result(result: str, reason: str | None, duration: float, nbytes: int) -> ProbeResult:
    return ProbeResult(
        kind="pull", registry="main", region="eu", auth_path="anon", canary="p/c:v1", repository="p/c",
        reference="v1", ts=datetime(2026, 1, 1, tzinfo=UTC), result=result, reason=reason,
        duration_seconds=duration, bytes=nbytes,
        phases={"connect": 0.01, "auth": 0.1, "manifest": 0.2, "config": None, "layers": None},
    )  # fmt: skip


def test_metrics_exposition() -> None:
    reg = CollectorRegistry()
    m = ProbeMetrics(reg)
    m.observe(_result("success", None, 0.7, 1000))
    m.observe(_result("failure", "server_error", 3.5, 10))
    m.observe(_result("failure", "server_error", 0.2, 0))
    text = generate_latest(reg).decode()
    base = {"registry": "main", "region": "eu", "auth_path": "anon", "canary": "p/c:v1"}

    def line(name: str, value: str, **extra: str) -> str:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted({**base, **extra}.items()))
        return f"{name}{{{labels}}} {value}"

    for expected in (
        line("regwatch_probe_pulls_total", "1.0", result="success"),
        line("regwatch_probe_pulls_total", "2.0", result="failure"),
        line("regwatch_probe_errors_total", "2.0", reason="server_error"),
        line("regwatch_probe_pull_bytes_total", "1010.0"),
        line("regwatch_probe_consecutive_failures", "2.0"),
        line("regwatch_probe_last_success_timestamp_seconds", "1.7672256007e+09"),
        line("regwatch_probe_pull_duration_seconds_bucket", "0.0", le="0.5", result="success"),
        line("regwatch_probe_pull_duration_seconds_bucket", "1.0", le="1.0", result="success"),
        line("regwatch_probe_pull_duration_seconds_bucket", "1.0", le="0.5", result="failure"),
        line("regwatch_probe_pull_duration_seconds_bucket", "2.0", le="5.0", result="failure"),
        line("regwatch_probe_phase_duration_seconds_count", "3.0", phase="total"),
        line("regwatch_probe_phase_duration_seconds_count", "3.0", phase="manifest"),
    ):
        assert expected in text.splitlines(), expected
    assert 'phase="layers"' not in text
    m.observe(_result("success", None, 0.7, 0))
    assert line("regwatch_probe_consecutive_failures", "0.0") in generate_latest(reg).decode().splitlines()


def test_two_metrics_objects_do_not_share_state() -> None:
    a, b = CollectorRegistry(), CollectorRegistry()
    ProbeMetrics(a).observe(_result("success", None, 0.1, 5))
    ProbeMetrics(b)
    assert "regwatch_probe_pull_bytes_total{" not in generate_latest(b).decode()


def test_result_invariants() -> None:
    with pytest.raises(ValueError, match="reason"):
        _result("failure", None, 1.0, 0)
    with pytest.raises(ValueError, match="unknown probe reason"):
        _result("failure", "gremlins", 1.0, 0)
