"""The OCI push client against a real registry: monolithic, chunked, mount, HEAD, manifest PUT/DELETE."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rig import skopeo
from rig.registry import RunningRegistry

from regwatch.oci import Credentials, Deadline, OciError, PushClient, RegistryClient, build_image
from regwatch.oci.image import write_oci_layout


def client(reg: RunningRegistry, repository: str, **kw: object) -> PushClient:
    creds = Credentials(reg.username, reg.password or "") if reg.username else None
    c = PushClient(reg.url, repository, deadline=Deadline(20), credentials=creds, **kw)  # type: ignore[arg-type]
    c.authenticate()
    return c


def requests_logged(reg: RunningRegistry, method: str, repository: str, what: str) -> int:
    """Access-log lines of ``method`` on ``/v2/<repository>/<what>``."""
    return len(re.findall(rf'"{method} /v2/{re.escape(repository)}/{what}', reg.log_text()))


def pull_back(reg: RunningRegistry, repository: str, tag: str) -> list[int]:
    creds = Credentials(reg.username, reg.password or "") if reg.username else None
    with RegistryClient(reg.url, repository, deadline=Deadline(20), credentials=creds) as c:
        c.authenticate()
        image = c.resolve(tag, "linux/amd64")
        return [c.fetch_blob(image.config), *(c.fetch_blob(layer) for layer in image.layers)]


def test_build_image_is_seeded_and_a_real_layout(tmp_path: Path, registry_anonymous: RunningRegistry) -> None:
    a, b, c = build_image([3000, 10], seed=7), build_image([3000, 10], seed=7), build_image([3000, 10])
    assert a == b and a.manifest_digest != c.manifest_digest
    doc = json.loads(a.manifest)
    assert [x["size"] for x in doc["layers"]] == [a.layers[0].size, a.layers[1].size]
    assert doc["config"]["digest"] == str(a.config.digest)
    assert json.loads(a.config.data)["rootfs"]["diff_ids"][0].startswith("sha256:")
    # skopeo reads the layout and pushes it byte for byte (preserve-digests)
    layout = write_oci_layout(a, tmp_path / "layout", "v1")
    digest = skopeo.push(layout, registry_anonymous, "layout/test", "v1")
    assert digest == str(a.manifest_digest)
    assert pull_back(registry_anonymous, "layout/test", "v1") == [
        a.config.size,
        a.layers[0].size,
        a.layers[1].size,
    ]


@pytest.mark.parametrize("mode", ["anonymous", "token"])
def test_monolithic_then_chunked_then_exists(
    mode: str, make_registry: Callable[..., RunningRegistry]
) -> None:
    reg = make_registry(mode)
    image = build_image([20_000, 100], seed=1)
    with client(reg, "push/mono") as c:
        report = c.push_image(image, "v1")
    assert set(report.blobs.values()) == {"monolithic"}
    assert report.bytes_sent == sum(b.size for b in image.blobs) + len(image.manifest)
    assert requests_logged(reg, "PATCH", "push/mono", "blobs/uploads/") == 0
    assert requests_logged(reg, "PUT", "push/mono", "blobs/uploads/") == 3

    chunk = 4096
    with client(reg, "push/chunked", chunk_bytes=chunk) as c:
        report = c.push_image(image, "v1", chunked=True)
    assert set(report.blobs.values()) == {"chunked"}
    want_patches = sum(math.ceil(b.size / chunk) for b in image.blobs)
    assert want_patches == 5 + 1 + 1  # a ~21 KiB layer in five chunks, the small layer and config in one
    assert requests_logged(reg, "PATCH", "push/chunked", "blobs/uploads/") == want_patches
    assert requests_logged(reg, "PUT", "push/chunked", "blobs/uploads/") == 3

    sizes = [image.config.size, *(b.size for b in image.layers)]
    assert pull_back(reg, "push/mono", "v1") == sizes
    assert pull_back(reg, "push/chunked", "v1") == sizes
    with client(reg, "push/chunked") as c:  # the same image again: HEAD finds every blob
        report = c.push_image(image, "v2", chunked=True)
        assert set(report.blobs.values()) == {"exists"}
        assert c.head_manifest("v2") == image.manifest_digest
    assert requests_logged(reg, "PATCH", "push/chunked", "blobs/uploads/") == want_patches


def test_mount_201_and_202_fallback(make_registry: Callable[..., RunningRegistry]) -> None:
    reg = make_registry("token")
    image = build_image([5000], seed=2)
    with client(reg, "team/a") as c:
        c.push_image(image, "v1")
    with client(reg, "team/b", mount_from=("team/a",)) as c:
        report = c.push_image(image, "v1", mount_from="team/a")
    assert set(report.blobs.values()) == {"mounted"}
    assert requests_logged(reg, "PUT", "team/b", "blobs/uploads/") == 0
    assert pull_back(reg, "team/b", "v1") == [image.config.size, image.layers[0].size]
    assert reg.token_server is not None
    scopes = [
        r.scopes for r in reg.token_server.request_log if any("team/b:pull,push" in s for s in r.scopes)
    ]
    assert scopes == [["repository:team/b:pull,push", "repository:team/a:pull"]]
    # a source without the blob: the registry answers 202 with an upload session, used instead
    other = build_image([300], seed=3)
    with client(reg, "team/c", mount_from=("team/a",)) as c:
        report = c.push_image(other, "v1", mount_from="team/a")
    assert set(report.blobs.values()) == {"monolithic"}
    assert pull_back(reg, "team/c", "v1") == [other.config.size, other.layers[0].size]


@pytest.mark.parametrize("mode", ["anonymous", "token"])
def test_delete_manifest(mode: str, make_registry: Callable[..., RunningRegistry]) -> None:
    reg = make_registry(mode)
    image = build_image([100], seed=4)
    with client(reg, "del/me") as c:
        c.push_image(image, "v1")
        assert c.delete_manifest(image.manifest_digest) == "deleted"
        assert c.head_manifest("v1") is None
        assert c.delete_manifest(image.manifest_digest) == "absent"
    if reg.token_server is not None:  # the delete asked for the scope the registry's challenge named
        assert ["repository:del/me:pull,push", "repository:del/me:delete"] in [
            r.scopes for r in reg.token_server.request_log
        ]


def test_delete_disabled_is_unsupported(make_registry: Callable[..., RunningRegistry]) -> None:
    reg = make_registry("anonymous", delete_enabled=False)
    image = build_image([100], seed=5)
    with client(reg, "keep/me") as c:
        c.push_image(image, "v1")
        assert c.delete_manifest(image.manifest_digest) == "unsupported"
        assert c.head_manifest("v1") == image.manifest_digest


def test_push_refused_is_unauthorized(make_registry: Callable[..., RunningRegistry]) -> None:
    reg = make_registry("htpasswd")
    c = PushClient(reg.url, "x/y", deadline=Deadline(10), credentials=Credentials("robot", "wrong-password"))
    with c, pytest.raises(OciError) as info:
        c.authenticate()
        c.push_image(build_image([10], seed=6), "v1")
    assert (info.value.reason, info.value.status) == ("unauthorized", 401)
