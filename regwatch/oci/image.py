"""Small OCI images built in memory (canaries), and writing them as an OCI image layout.

Each layer is a real ``tar.gz``: one regular file of random bytes, so any runtime can unpack it.
With a ``seed`` the image is byte-for-byte reproducible (same digests); without one every image
is new (fresh random bytes from ``os.urandom``), which is what a replication canary needs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regwatch.oci import media
from regwatch.oci.digest import Digest, digest_of

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
#: A fixed creation time keeps seeded images reproducible.
CREATED = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class Blob:
    """A blob and its descriptor fields."""

    media_type: str
    data: bytes
    digest: Digest

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self) -> dict[str, Any]:
        """The OCI descriptor of this blob."""
        return {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}


@dataclass(frozen=True)
class Image:
    """A single-platform OCI image: config, layers, and the manifest that ties them."""

    config: Blob
    layers: tuple[Blob, ...]
    manifest: bytes
    manifest_digest: Digest
    media_type: str = media.OCI_MANIFEST

    @property
    def blobs(self) -> tuple[Blob, ...]:
        """Layers, then the config."""
        return (*self.layers, self.config)

    @property
    def total_bytes(self) -> int:
        """Config, layers and manifest: what a pull downloads."""
        return sum(b.size for b in self.blobs) + len(self.manifest)


def _layer(payload: bytes, name: str) -> tuple[bytes, Digest]:
    """A gzip-compressed tar holding ``payload`` as the file ``name``; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, compresslevel=1, mtime=0), digest_of(tar_bytes)


def build_image(
    layer_sizes: list[int] | tuple[int, ...] = (4096,),
    seed: int | None = None,
    *,
    platform: str = "linux/amd64",
    annotations: dict[str, str] | None = None,
) -> Image:
    """Build an image with one layer per entry of ``layer_sizes`` (random payload bytes per layer).

    The layer blobs are slightly larger than their payload (tar and gzip headers; random bytes do
    not compress). ``seed`` makes the image reproducible; None makes every call's image unique.
    """
    if not layer_sizes:
        raise ValueError("an image needs at least one layer")
    if any(n < 0 for n in layer_sizes):
        raise ValueError("layer sizes must not be negative")
    rng = random.Random(seed) if seed is not None else None
    layers: list[Blob] = []
    diff_ids: list[str] = []
    for i, n in enumerate(layer_sizes):
        payload = rng.randbytes(n) if rng is not None else os.urandom(n)
        blob, diff_id = _layer(payload, f"regwatch/layer-{i}.bin")
        layers.append(Blob(OCI_LAYER_GZIP, blob, digest_of(blob)))
        diff_ids.append(str(diff_id))
    os_name, arch, *variant = platform.split("/")
    config_doc: dict[str, Any] = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        "config": {"Labels": {"org.opencontainers.image.vendor": "regwatch"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": CREATED, "created_by": "regwatch canary"} for _ in layers],
    }
    if variant:
        config_doc["variant"] = variant[0]
    config_bytes = json.dumps(config_doc, separators=(",", ":")).encode()
    config = Blob(OCI_CONFIG, config_bytes, digest_of(config_bytes))
    manifest_doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    if annotations:
        manifest_doc["annotations"] = dict(annotations)
    manifest = json.dumps(manifest_doc, separators=(",", ":")).encode()
    return Image(config, tuple(layers), manifest, digest_of(manifest))


def write_oci_layout(image: Image, directory: str | os.PathLike[str], tag: str) -> Path:
    """Write ``image`` as an OCI image layout in ``directory`` (created if needed), tagged ``tag``.

    ``skopeo copy oci:<directory>:<tag> docker://…`` (or ``oci:<directory>``) reads it. An existing
    layout gets the blobs added and ``tag`` pointed at this image.
    """
    root = Path(directory)
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for blob in (*image.blobs, Blob(image.media_type, image.manifest, image.manifest_digest)):
        path = blobs / blob.digest.hex
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != blob.digest.hex:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(blob.data)
            tmp.replace(path)
    index_path = root / "index.json"
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": []}
    if index_path.exists():
        index = json.loads(index_path.read_text())
    index["manifests"] = [
        m for m in index.get("manifests", []) if (m.get("annotations") or {}).get(REF_NAME) != tag
    ] + [
        {
            "mediaType": image.media_type,
            "digest": str(image.manifest_digest),
            "size": len(image.manifest),
            "annotations": {REF_NAME: tag},
        }
    ]
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return root
