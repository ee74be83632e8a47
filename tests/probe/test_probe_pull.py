"""Pull probes against the real registry (distribution 2.8) in all three auth modes.

Every test asserts the exact reason and that the probe ended within its deadline.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from probe_helpers import GRACE, WRONG_PASSWORD, FaultProxy, make_config, run_one
from rig import skopeo
from rig.oci_layout import ImageInfo, IndexInfo, write_canary_layout, write_index_layout
from rig.registry import MODES, RunningRegistry, start_registry

NATURAL_AUTH = {"anonymous": "anonymous", "htpasswd": "robot", "token": "robot"}


@dataclass
class Shared:
    mode: str
    reg: RunningRegistry
    canary: ImageInfo
    index: IndexInfo

    @property
    def auth(self) -> str:
        return NATURAL_AUTH[self.mode]


@pytest.fixture(scope="module", params=MODES)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, rig_binaries: dict[str, str]
) -> Iterator[Shared]:
    """One registry per auth mode for the tests that do not change it: canary + a 2-platform index."""
    base = tmp_path_factory.mktemp(f"shared-{request.param}")
    reg = start_registry(base / "registry", request.param)
    canary = write_canary_layout(base / "canary")
    skopeo.push(canary.layout_dir, reg, "platform/canary", "v1")
    index = write_index_layout(base / "index", [("linux", "amd64"), ("linux", "arm64")], [2048, 4096])
    skopeo.push(index.layout_dir, reg, "platform/multi", "v1", all_platforms=True)
    yield Shared(request.param, reg, canary, index)
    reg.close()


def test_success(shared: Shared) -> None:
    r = run_one(make_config(shared.reg.url, auth=shared.auth))
    assert (r.result, r.reason, r.status, r.error) == ("success", None, 200, None)
    assert r.bytes == shared.canary.total_bytes
    assert r.manifest_digest == shared.canary.manifest_digest
    assert all(r.phases[p] is not None for p in ("connect", "auth", "manifest", "config", "layers"))
    assert r.duration_seconds >= r.phases["layers"]


def test_index_resolved_to_platform(shared: Shared) -> None:
    r = run_one(
        make_config(shared.reg.url, auth=shared.auth, repository="platform/multi", platform="linux/arm64")
    )
    image = shared.index.images["linux/arm64"]
    assert (r.result, r.reason) == ("success", None)
    assert r.manifest_digest == image.manifest_digest
    assert r.bytes == len(shared.index.index_bytes) + image.total_bytes


def test_platform_missing(shared: Shared) -> None:
    r = run_one(
        make_config(shared.reg.url, auth=shared.auth, repository="platform/multi", platform="linux/s390x")
    )
    assert (r.result, r.reason, r.status) == ("failure", "platform_missing", None)
    assert r.bytes == len(shared.index.index_bytes)
    assert r.duration_seconds < 5 + GRACE


def test_not_found(shared: Shared) -> None:
    r = run_one(make_config(shared.reg.url, auth=shared.auth, reference="no-such-tag"))
    assert (r.result, r.reason, r.status) == ("failure", "not_found", 404)
    assert "MANIFEST_UNKNOWN" in (r.error or "")
    assert r.duration_seconds < 5 + GRACE


def test_by_digest(shared: Shared) -> None:
    r = run_one(make_config(shared.reg.url, auth=shared.auth, reference=shared.canary.manifest_digest))
    assert (r.result, r.manifest_digest, r.bytes) == (
        "success",
        shared.canary.manifest_digest,
        shared.canary.total_bytes,
    )


def test_wrong_password(shared: Shared) -> None:
    r = run_one(make_config(shared.reg.url, auth="wrong"))
    if shared.mode == "anonymous":  # the registry never asks, so credentials are never sent
        assert (r.result, r.reason) == ("success", None)
        return
    assert (r.result, r.reason, r.status) == ("failure", "unauthorized", 401)
    assert WRONG_PASSWORD not in (r.error or "")
    assert r.duration_seconds < 5 + GRACE


def test_no_credentials_where_required(shared: Shared) -> None:
    r = run_one(make_config(shared.reg.url, auth="anonymous"))
    if shared.mode == "htpasswd":
        assert (r.result, r.reason, r.status) == ("failure", "unauthorized", 401)
    else:  # anonymous registry, and the token server grants anonymous pulls
        assert (r.result, r.reason) == ("success", None)


def test_dns(shared: Shared) -> None:
    # the autouse no_real_dns fixture makes every non-loopback name fail in-process (gaierror)
    url = shared.reg.url.replace("127.0.0.1", "registry.regwatch-test.invalid")
    r = run_one(make_config(url, auth=shared.auth))
    assert (r.result, r.reason, r.status, r.bytes) == ("failure", "dns", None, 0)
    assert r.phases["auth"] is not None and r.phases["manifest"] is None
    assert r.duration_seconds < 5 + GRACE


@pytest.mark.parametrize("mode", MODES)
def test_connect_when_registry_stopped(mode: str, make_registry: Callable[..., RunningRegistry]) -> None:
    reg = make_registry(mode)
    reg.stop()
    r = run_one(make_config(reg.url, auth=NATURAL_AUTH[mode]))
    assert (r.result, r.reason, r.status, r.bytes) == ("failure", "connect", None, 0)
    assert "Connection refused" in (r.error or "")
    assert r.duration_seconds < 5 + GRACE


@pytest.mark.parametrize("mode", MODES)
def test_corrupt_blob_on_disk(
    mode: str, make_registry: Callable[..., RunningRegistry], canary_image: Callable[..., ImageInfo]
) -> None:
    reg = make_registry(mode)
    info = canary_image(reg)
    path = reg.blob_path(info.layer_digests[1])
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    r = run_one(make_config(reg.url, auth=NATURAL_AUTH[mode]))
    assert (r.result, r.reason, r.status) == ("failure", "digest_mismatch", 200)
    assert info.layer_digests[1] in (r.error or "")
    assert r.bytes == info.total_bytes  # everything was downloaded, then refused
    assert r.duration_seconds < 5 + GRACE


def test_token_service_500(
    make_registry: Callable[..., RunningRegistry], canary_image: Callable[..., ImageInfo]
) -> None:
    reg = make_registry("token")
    canary_image(reg)
    assert reg.token_server is not None
    reg.token_server.fail_status = 500
    for auth in ("robot", "anonymous"):
        r = run_one(make_config(reg.url, auth=auth))
        assert (r.result, r.reason, r.status) == ("failure", "token_error", 500)
        assert r.phases["manifest"] is None
        assert r.duration_seconds < 5 + GRACE


def test_token_service_down(make_registry: Callable[..., RunningRegistry]) -> None:
    reg = make_registry("token")
    assert reg.token_server is not None
    reg.token_server.stop()
    r = run_one(make_config(reg.url, auth="robot"))
    assert (r.result, r.reason) == ("failure", "token_error")


def test_fresh_token_per_probe_unless_reused(
    make_registry: Callable[..., RunningRegistry], canary_image: Callable[..., ImageInfo]
) -> None:
    from regwatch.probe import run_round

    reg = make_registry("token")
    canary_image(reg)
    assert reg.token_server is not None
    base = reg.token_server.requests
    cfg = make_config(reg.url, auth="robot")
    two_regions = cfg.registries[0].regions * 2
    import dataclasses

    doubled = dataclasses.replace(cfg, registries=[dataclasses.replace(cfg.registries[0], regions=[
        two_regions[0], dataclasses.replace(two_regions[1], name="again")])])  # fmt: skip
    assert [r.result for r in run_round(doubled)] == ["success", "success"]
    assert reg.token_server.requests - base == 2
    reuse = dataclasses.replace(
        doubled, probe=dataclasses.replace(doubled.probe, reuse_tokens=True, concurrency=1)
    )
    assert [r.result for r in run_round(reuse)] == ["success", "success"]
    assert reg.token_server.requests - base == 3


@pytest.mark.parametrize("mode", MODES)
def test_tls(
    mode: str, make_registry: Callable[..., RunningRegistry], canary_image: Callable[..., ImageInfo]
) -> None:
    reg = make_registry(mode, tls=True)
    info = canary_image(reg)
    assert reg.url.startswith("https://") and reg.ca_file is not None
    ok = run_one(make_config(reg.url, auth=NATURAL_AUTH[mode], ca_file=reg.ca_file))
    assert (ok.result, ok.reason, ok.bytes) == ("success", None, info.total_bytes)
    bad = run_one(make_config(reg.url, auth=NATURAL_AUTH[mode]))
    assert (bad.result, bad.reason, bad.status, bad.bytes) == ("failure", "tls", None, 0)
    assert "certificate verify failed" in (bad.error or "")
    assert bad.duration_seconds < 5 + GRACE


# --- through the fault proxy -------------------------------------------------------------------------


def _proxied(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> FaultProxy:
    return fault_proxy(shared.reg.url)


def test_rate_limited(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/manifests/", status=429, headers={"Retry-After": "42"})
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status, r.retry_after_seconds) == ("failure", "rate_limited", 429, 42.0)
    assert r.duration_seconds < 5 + GRACE


def test_server_error(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/blobs/" + shared.canary.layer_digests[0], status=503)
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status) == ("failure", "server_error", 503)
    assert r.phases["layers"] is not None
    assert r.duration_seconds < 5 + GRACE


def test_slow_drip_body_ends_at_the_deadline(
    shared: Shared, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/blobs/" + shared.canary.layer_digests[1], drip=0.05)  # 50 KiB at 20 B/s: 40 minutes
    r = run_one(make_config(proxy.url, auth=shared.auth, timeout=1.5))
    assert (r.result, r.reason) == ("failure", "timeout")
    assert "deadline of 1.5s" in (r.error or "")
    assert 1.5 <= r.duration_seconds < 1.5 + GRACE


def test_slow_drip_manifest_ends_at_the_deadline(
    shared: Shared, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/manifests/", drip=0.05)
    r = run_one(make_config(proxy.url, auth=shared.auth, timeout=1.0))
    assert (r.result, r.reason) == ("failure", "timeout")
    assert 1.0 <= r.duration_seconds < 1.0 + GRACE


def test_truncated_body(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/blobs/" + shared.canary.layer_digests[1], truncate=20_000)
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status) == ("failure", "protocol", 200)
    assert f"cut short at 20000 of {shared.canary.layer_sizes[1]} bytes" in (r.error or "")
    assert r.duration_seconds < 5 + GRACE


def test_connection_reset(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/manifests/", reset=True)
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status) == ("failure", "protocol", None)
    assert r.duration_seconds < 5 + GRACE


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_manifest(shared: Shared, fault_proxy: Callable[[str], FaultProxy], chunked: bool) -> None:
    proxy = _proxied(shared, fault_proxy)
    limit = 4 * 1024 * 1024
    proxy.add(r"/manifests/", body=b" " * (limit + 1), chunked=chunked)
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status) == ("failure", "manifest_invalid", 200)
    assert "limit" in (r.error or "")
    assert r.bytes == (limit + 1 if chunked else 0)  # counted as read: at most limit + 1 bytes
    assert r.duration_seconds < 5 + GRACE


def test_too_many_headers(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/manifests/", many_headers=120)
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason) == ("failure", "protocol")


def test_docker_content_digest_mismatch(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/manifests/", headers={"Docker-Content-Digest": "sha256:" + "0" * 64})
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status) == ("failure", "digest_mismatch", 200)


def test_size_mismatch(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/blobs/" + shared.canary.layer_digests[0], body=b"x" * 100)
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status) == ("failure", "size_mismatch", 200)
    assert f"served as 100 bytes, the manifest says {shared.canary.layer_sizes[0]}" in (r.error or "")


def test_manifest_not_json(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/manifests/", body=b"<html>oops</html>")
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason) == ("failure", "manifest_invalid")


def test_sha512_layer(shared: Shared, fault_proxy: Callable[[str], FaultProxy]) -> None:
    """A layer addressed by sha512, served by the proxy: verified with sha512 (good, then corrupt)."""
    blob = bytes(range(256)) * 4096  # 1 MiB: the threaded hashing path
    d512 = "sha512:" + hashlib.sha512(blob).hexdigest()
    manifest = json.loads(shared.canary.manifest_bytes)
    manifest["layers"].append(
        {"mediaType": manifest["layers"][0]["mediaType"], "digest": d512, "size": len(blob)}
    )
    raw = json.dumps(manifest).encode()
    for served, reason in ((blob, None), (blob[:-1] + b"!", "digest_mismatch")):
        proxy = _proxied(shared, fault_proxy)
        proxy.add(
            r"/manifests/",
            body=raw,
            headers={"Docker-Content-Digest": "sha256:" + hashlib.sha256(raw).hexdigest()},
        )
        proxy.add(
            r"/blobs/sha512:", status=200, body=served, headers={"Content-Type": "application/octet-stream"}
        )
        r = run_one(make_config(proxy.url, auth=shared.auth))
        assert r.reason == reason, r.error
        assert r.bytes == len(raw) + len(shared.canary.config_bytes) + sum(shared.canary.layer_sizes) + len(
            blob
        )


def test_redirect_to_other_origin_drops_authorization(
    shared: Shared, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """Blob redirects to 'storage' (another origin) get no registry Authorization; the pull works."""
    storage = fault_proxy(shared.reg.url)  # stands in for blob storage: serves the registry's bytes
    front = fault_proxy(shared.reg.url)
    front.add(r"/blobs/", redirect=storage.url)
    # storage answers whatever Authorization it gets; the registry needs it in auth modes, so give
    # storage a copy of the blobs that needs no auth: serve the bytes directly
    for digest, data in _blobs(shared).items():
        storage.add(r"/blobs/" + digest, status=200, body=data)
    r = run_one(make_config(front.url, auth=shared.auth))
    assert (r.result, r.reason) == ("success", None)
    blob_requests = [h for path, h in storage.seen if "/blobs/" in path]
    assert len(blob_requests) == 3
    assert all("Authorization" not in h for h in blob_requests)
    if shared.mode != "anonymous":
        front_manifest = [h for path, h in front.seen if "/manifests/" in path]
        assert all("Authorization" in h for h in front_manifest)


def _blobs(shared: Shared) -> dict[str, bytes]:
    layout = shared.canary.layout_dir / "blobs" / "sha256"
    return {d: (layout / d.split(":", 1)[1]).read_bytes() for d in shared.canary.blob_digests}


def test_hostile_server_echoing_credentials_is_redacted(
    shared: Shared, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    proxy = _proxied(shared, fault_proxy)
    proxy.add(r"/manifests/", status=500, echo_auth=True)
    r = run_one(make_config(proxy.url, auth=shared.auth))
    assert (r.result, r.reason, r.status) == ("failure", "server_error", 500)
    if shared.mode != "anonymous":
        assert "got Basic ***" in (r.error or "") or "got Bearer ***" in (r.error or "")


def test_never_a_real_lookup() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.com", 443)
