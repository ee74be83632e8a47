"""Write small, seeded OCI image layouts (single image or multi-platform index).

Layers are real ``tar`` archives (one file of seeded random bytes) compressed with
gzip; each layer blob is padded (a gzip FEXTRA header field, which every gzip reader
skips) to exactly the requested size when that size is at least ~200 bytes.
Same arguments and seed -> byte-identical layout and digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import struct
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MEDIA = {
    "oci": {"manifest": OCI_MANIFEST, "index": OCI_INDEX, "config": OCI_CONFIG, "layer": OCI_LAYER_GZIP},
    "docker": {
        "manifest": DOCKER_MANIFEST,
        "index": DOCKER_LIST,
        "config": DOCKER_CONFIG,
        "layer": DOCKER_LAYER_GZIP,
    },
}
REF_NAME = "org.opencontainers.image.ref.name"

# The canary image every probe test pushes: two gzip layers of exactly 10 KiB and 50 KiB.
CANARY_REPOSITORY = "platform/canary"
CANARY_TAG = "v1"
CANARY_LAYER_SIZES = (10 * 1024, 50 * 1024)
CREATED = "2024-01-01T00:00:00Z"


@dataclass
class ImageInfo:
    manifest_digest: str
    manifest_bytes: bytes
    config_digest: str
    layer_digests: list[str]
    layer_sizes: list[int]  # actual blob sizes (compressed), == requested when >= ~200 bytes
    total_bytes: int  # config + layers + manifest
    layout_dir: Path
    platform: tuple[str, str] = ("linux", "amd64")
    media: str = "oci"
    config_bytes: bytes = b""
    diff_ids: list[str] = field(default_factory=list)

    @property
    def manifest_media_type(self) -> str:
        return MEDIA[self.media]["manifest"]

    @property
    def blob_digests(self) -> list[str]:
        return [self.config_digest, *self.layer_digests]


@dataclass
class IndexInfo:
    index_digest: str
    images: dict[str, ImageInfo]  # "linux/amd64" -> image
    layout_dir: Path
    index_bytes: bytes = b""
    media: str = "oci"

    @property
    def index_media_type(self) -> str:
        return MEDIA[self.media]["index"]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def platform_str(platform: tuple[str, ...]) -> str:
    return "/".join(platform)


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=False).encode() + b"\n"


def _write_blob(layout: Path, data: bytes) -> str:
    digest = sha256_digest(data)
    path = layout / "blobs" / "sha256" / digest.split(":", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
    return digest


def _tar_of(payload: bytes, name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mode = 0o644
        info.mtime = 0
        info.uname = info.gname = "root"
        tf.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def _gzip(data: bytes, pad: int = 0) -> bytes:
    """Deterministic gzip (mtime 0) whose header carries ``pad`` extra bytes (0, or >= 2)."""
    comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = comp.compress(data) + comp.flush()
    flags = 0
    extra = b""
    if pad:
        if pad < 2 or pad - 2 > 0xFFFF:
            raise ValueError(f"cannot pad gzip header by {pad} bytes")
        flags |= 0x04  # FEXTRA
        extra = struct.pack("<H", pad - 2) + b"\0" * (pad - 2)
    header = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0" + b"\x00\xff" + extra
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return header + body + trailer


def make_layer(size: int, rng: random.Random, name: str = "payload.bin") -> tuple[bytes, bytes]:
    """Return ``(gzip_blob, tar)`` with ``len(gzip_blob) == size`` when size allows it."""
    payload_len = max(0, size - 160)
    for _ in range(8):
        payload = rng.randbytes(payload_len)
        tar = _tar_of(payload, name)
        blob = _gzip(tar)
        short = size - len(blob)
        if short == 0:
            return blob, tar
        if 2 <= short <= 0xFFFF + 2:
            blob = _gzip(tar, pad=short)
            assert len(blob) == size
            gzip.decompress(blob)  # sanity: still a valid gzip stream
            return blob, tar
        if payload_len == 0 and short < 0:
            return blob, tar  # too small to hit exactly; the smallest we can do
        # too big, exactly one byte short, or too short for a header pad: resize the payload
        payload_len = max(0, payload_len + (short - 100 if short > 0xFFFF else short - 8))
    return blob, tar


def _image(
    layout: Path, layer_sizes: list[int], platform: tuple[str, ...], rng: random.Random, seed: int, media: str
) -> tuple[ImageInfo, dict[str, Any]]:
    types = MEDIA[media]
    layer_descs, diff_ids, layer_digests, sizes = [], [], [], []
    for i, size in enumerate(layer_sizes):
        blob, tar = make_layer(size, rng, name=f"layer{i}.bin")
        digest = _write_blob(layout, blob)
        layer_digests.append(digest)
        sizes.append(len(blob))
        diff_ids.append(sha256_digest(tar))
        layer_descs.append({"mediaType": types["layer"], "digest": digest, "size": len(blob)})
    os_, arch = platform[0], platform[1]
    config: dict[str, Any] = {
        "created": CREATED,
        "architecture": arch,
        "os": os_,
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Labels": {"regwatch.test.seed": str(seed)}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": CREATED, "created_by": f"regwatch rig layer {i}"} for i in range(len(diff_ids))
        ],
    }
    if len(platform) > 2:
        config["variant"] = platform[2]
    config_bytes = _canonical(config)
    config_digest = _write_blob(layout, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": types["manifest"],
        "config": {"mediaType": types["config"], "digest": config_digest, "size": len(config_bytes)},
        "layers": layer_descs,
    }
    manifest_bytes = _canonical(manifest)
    manifest_digest = _write_blob(layout, manifest_bytes)
    plat: dict[str, Any] = {"architecture": arch, "os": os_}
    if len(platform) > 2:
        plat["variant"] = platform[2]
    desc = {
        "mediaType": types["manifest"],
        "digest": manifest_digest,
        "size": len(manifest_bytes),
        "platform": plat,
    }
    info = ImageInfo(
        manifest_digest=manifest_digest,
        manifest_bytes=manifest_bytes,
        config_digest=config_digest,
        layer_digests=layer_digests,
        layer_sizes=sizes,
        total_bytes=len(config_bytes) + sum(sizes) + len(manifest_bytes),
        layout_dir=layout,
        platform=tuple(platform),  # type: ignore[arg-type]
        media=media,
        config_bytes=config_bytes,
        diff_ids=diff_ids,
    )
    return info, desc


def _write_layout_files(layout: Path, desc: dict[str, Any], ref_name: str | None) -> None:
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}) + "\n")
    top = dict(desc)
    top.pop("platform", None)
    if ref_name:
        top["annotations"] = {REF_NAME: ref_name}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]}
    (layout / "index.json").write_bytes(_canonical(index))


def write_image_layout(
    dir: Path,  # noqa: A002 - name fixed by the rig API
    layer_sizes: list[int],
    *,
    platform: tuple[str, ...] = ("linux", "amd64"),
    seed: int = 0,
    media: str = "oci",
    ref_name: str | None = None,
) -> ImageInfo:
    """Write an OCI image layout holding one image manifest. Push it with skopeo ``oci:DIR``."""
    if media not in MEDIA:
        raise ValueError(f"media must be 'oci' or 'docker', not {media!r}")
    layout = Path(dir)
    layout.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"regwatch-{seed}-{platform_str(platform)}")
    info, desc = _image(layout, list(layer_sizes), platform, rng, seed, media)
    _write_layout_files(layout, desc, ref_name)
    return info


def write_index_layout(
    dir: Path,  # noqa: A002
    platforms: list[tuple[str, ...]] | None = None,
    layer_sizes: list[int] | None = None,
    *,
    seed: int = 0,
    media: str = "oci",
    ref_name: str | None = None,
) -> IndexInfo:
    """Write an OCI layout whose single entry is a multi-platform index (push with ``--all``).

    Every platform gets its own layers (seeded by platform) of ``layer_sizes``.
    """
    if media not in MEDIA:
        raise ValueError(f"media must be 'oci' or 'docker', not {media!r}")
    platforms = platforms or [("linux", "amd64"), ("linux", "arm64")]
    layer_sizes = [4096, 8192] if layer_sizes is None else list(layer_sizes)
    layout = Path(dir)
    layout.mkdir(parents=True, exist_ok=True)
    images: dict[str, ImageInfo] = {}
    descs = []
    for plat in platforms:
        rng = random.Random(f"regwatch-{seed}-{platform_str(plat)}")
        info, desc = _image(layout, layer_sizes, plat, rng, seed, media)
        images[platform_str(plat)] = info
        descs.append(desc)
    index = {"schemaVersion": 2, "mediaType": MEDIA[media]["index"], "manifests": descs}
    index_bytes = _canonical(index)
    index_digest = _write_blob(layout, index_bytes)
    _write_layout_files(
        layout,
        {"mediaType": MEDIA[media]["index"], "digest": index_digest, "size": len(index_bytes)},
        ref_name,
    )
    return IndexInfo(
        index_digest=index_digest, images=images, layout_dir=layout, index_bytes=index_bytes, media=media
    )


def write_canary_layout(dir: Path, *, seed: int = 0) -> ImageInfo:  # noqa: A002
    """The canary image (CANARY_LAYER_SIZES), deterministic for a given seed."""
    return write_image_layout(dir, list(CANARY_LAYER_SIZES), seed=seed)
