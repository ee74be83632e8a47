"""OCI distribution client: ping, auth challenges, manifests, verified blob streams (pull side);
blob uploads, mounts, manifest push and delete (push side); small in-memory canary images."""

from regwatch.oci.auth import Challenge, Credentials, TokenCache, parse_challenges
from regwatch.oci.client import (
    Descriptor,
    ImageManifest,
    Limits,
    RegistryClient,
    retry_after_seconds,
    select_platform,
)
from regwatch.oci.digest import Digest, digest_of, parse_digest
from regwatch.oci.errors import OciError
from regwatch.oci.image import Blob, Image, build_image, write_oci_layout
from regwatch.oci.push import PushClient, PushReport
from regwatch.oci.transport import Deadline

__all__ = [
    "Blob",
    "Image",
    "PushClient",
    "PushReport",
    "build_image",
    "write_oci_layout",
    "Challenge",
    "Credentials",
    "Deadline",
    "Descriptor",
    "Digest",
    "ImageManifest",
    "Limits",
    "OciError",
    "RegistryClient",
    "TokenCache",
    "digest_of",
    "parse_challenges",
    "parse_digest",
    "retry_after_seconds",
    "select_platform",
]
