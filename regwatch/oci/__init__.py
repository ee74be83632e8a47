"""OCI distribution client (pull side): ping, auth challenges, manifests, verified blob streams."""

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
from regwatch.oci.transport import Deadline

__all__ = [
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
