"""The push side of the OCI distribution spec: blob uploads, cross-repository mounts, manifests.

A :class:`PushClient` is a :class:`~regwatch.oci.client.RegistryClient` whose bearer scope is
``repository:<name>:pull,push`` (plus ``pull`` on every repository it may mount from). Uploads:

* **monolithic**: ``POST /v2/<name>/blobs/uploads/`` (202 + ``Location``), then one
  ``PUT <location>?digest=<d>`` carrying the whole blob (201);
* **chunked**: the same ``POST``, then ``PATCH <location>`` per chunk with
  ``Content-Range: <first>-<last>`` (202, a new ``Location`` and ``Range: 0-<last>`` each time),
  then ``PUT <location>?digest=<d>`` with no body (201);
* **mount**: ``POST /v2/<name>/blobs/uploads/?mount=<d>&from=<repo>``: 201 means the registry
  linked the blob from ``<repo>``; 202 means it did not (mounting not offered, blob not there,
  no pull right on ``<repo>``) and opened an ordinary upload session, which is used instead.

Before uploading, ``HEAD /v2/<name>/blobs/<d>`` skips blobs the repository already has. Nothing
is retried (the same first-attempt rule as the pull side) and every step is bounded by the
client's :class:`~regwatch.oci.transport.Deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urljoin

import requests

from regwatch.oci.auth import Credentials, parse_challenges
from regwatch.oci.client import Limits, RegistryClient
from regwatch.oci.digest import Digest, digest_of, parse_digest
from regwatch.oci.errors import OciError
from regwatch.oci.image import Blob, Image
from regwatch.oci.transport import Deadline

#: Default chunk size of a chunked upload. Some registries (S3-backed ones, ECR) refuse chunks
#: under 5 MiB except the last, so a smaller canary layer always goes in one chunk.
DEFAULT_CHUNK_BYTES = 5 * 1024 * 1024
OCTET_STREAM = "application/octet-stream"


@dataclass
class PushReport:
    """What a ``push_image`` did: the manifest's digest and how each blob got there."""

    manifest_digest: Digest
    blobs: dict[str, str] = field(default_factory=dict)  # digest -> exists | mounted | monolithic | chunked
    bytes_sent: int = 0


class PushClient(RegistryClient):
    """A push (and delete) client for one repository at one registry endpoint."""

    def __init__(
        self,
        base_url: str,
        repository: str,
        *,
        deadline: Deadline,
        credentials: Credentials | None = None,
        verify: bool | str = True,
        limits: Limits | None = None,
        mount_from: tuple[str, ...] = (),
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        super().__init__(
            base_url,
            repository,
            deadline=deadline,
            credentials=credentials,
            verify=verify,
            limits=limits,
            actions="pull,push",
            extra_scopes=tuple(f"repository:{r}:pull" for r in mount_from if r != repository),
        )
        if chunk_bytes <= 0:
            raise ValueError("chunk_bytes must be positive")
        self.chunk_bytes = chunk_bytes
        self.bytes_sent = 0

    # --- helpers ---------------------------------------------------------------------------------

    def _done(self, resp: requests.Response, want: tuple[int, ...], doing: str) -> requests.Response:
        """Return ``resp`` (closed) when its status is one of ``want``; else raise its error."""
        if resp.status_code not in want:
            raise self._fail(resp, doing)
        resp.close()
        return resp

    def _location(self, resp: requests.Response, url: str, doing: str) -> str:
        location = resp.headers.get("Location")
        if not location:
            raise OciError("protocol", f"no Location header while {doing}", status=resp.status_code)
        return urljoin(url, location)

    @staticmethod
    def _with_digest(location: str, digest: Digest) -> str:
        return location + ("&" if "?" in location else "?") + urlencode({"digest": str(digest)})

    def _check_digest_header(self, resp: requests.Response, want: Digest, doing: str) -> None:
        header = resp.headers.get("Docker-Content-Digest")
        if header and header.strip() != str(want):
            raise OciError(
                "digest_mismatch",
                f"registry stored {header.strip()[:80]} while {doing}, expected {want}",
                status=resp.status_code,
            )

    def _widen_token(self, resp: requests.Response) -> bool:
        """After a Bearer 401 that names a wider scope (a delete needs ``delete``), get a token for it.

        Returns whether a new token was fetched (then the request is sent once more).
        """
        challenges = {c.scheme: c for c in parse_challenges(resp.headers.get("WWW-Authenticate", ""))}
        bearer = challenges.get("bearer")
        wanted = (bearer.params.get("scope") or "").split() if bearer else []
        extra = tuple(s for s in wanted if s not in self.scopes)
        if bearer is None or not extra or not (self._authorization or "").startswith("Bearer "):
            return False
        resp.close()
        self.scopes = (*self.scopes, *extra)
        self._authorization = "Bearer " + self._bearer_token(bearer.params)
        return True

    # --- blobs -----------------------------------------------------------------------------------

    def blob_exists(self, digest: Digest) -> bool:
        """Whether the repository already has the blob (``HEAD``: 200 yes, 404 no)."""
        doing = f"checking blob {digest}"
        url = f"{self.base_url}/v2/{self.repository}/blobs/{digest}"
        resp = self._request("HEAD", url, doing)
        if resp.status_code == 200:
            resp.close()
            return True
        if resp.status_code == 404:
            resp.close()
            return False
        raise self._fail(resp, doing)

    def start_upload(self, *, mount: Digest | None = None, from_repository: str | None = None) -> str | None:
        """Open an upload session; return its URL, or None when the blob was mounted (201)."""
        query = ""
        if mount is not None and from_repository:
            query = "?" + urlencode({"mount": str(mount), "from": from_repository})
        doing = f"mounting blob {mount} from {from_repository}" if query else "starting a blob upload"
        url = f"{self.base_url}/v2/{self.repository}/blobs/uploads/{query}"
        resp = self._request("POST", url, doing, {"Content-Length": "0"}, body=b"", follow=False)
        if resp.status_code == 201 and query:
            resp.close()
            if mount is not None:
                self._check_digest_header(resp, mount, doing)
            return None
        self._done(resp, (202,), doing)
        return self._location(resp, url, doing)

    def upload_monolithic(self, location: str, data: bytes, digest: Digest) -> None:
        """Send the whole blob in the ``PUT`` that closes the session."""
        doing = f"uploading blob {digest}"
        headers = {"Content-Type": OCTET_STREAM, "Content-Length": str(len(data))}
        resp = self._request(
            "PUT", self._with_digest(location, digest), doing, headers, body=data, follow=False
        )
        self.bytes_sent += len(data)
        self._done(resp, (201,), doing)
        self._check_digest_header(resp, digest, doing)

    def upload_chunked(
        self, location: str, data: bytes, digest: Digest, chunk_bytes: int | None = None
    ) -> int:
        """``PATCH`` the blob in chunks, then close the session with ``PUT``; return the chunk count."""
        size = chunk_bytes or self.chunk_bytes
        chunks = 0
        for start in range(0, len(data), size):
            piece = data[start : start + size]
            last = start + len(piece) - 1
            doing = f"uploading bytes {start}-{last} of blob {digest}"
            headers = {
                "Content-Type": OCTET_STREAM,
                "Content-Range": f"{start}-{last}",
                "Content-Length": str(len(piece)),
            }
            resp = self._request("PATCH", location, doing, headers, body=piece, follow=False)
            self.bytes_sent += len(piece)
            self._done(resp, (202,), doing)
            got = resp.headers.get("Range", "")
            if got and got.strip() != f"0-{last}":
                raise OciError("protocol", f"registry says it has bytes {got[:40]} after {doing}", status=202)
            location = self._location(resp, location, doing)
            chunks += 1
        doing = f"closing the upload of blob {digest}"
        resp = self._request(
            "PUT", self._with_digest(location, digest), doing, {"Content-Length": "0"}, body=b"",
            follow=False,
        )  # fmt: skip
        self._done(resp, (201,), doing)
        self._check_digest_header(resp, digest, doing)
        return chunks

    def push_blob(
        self, blob: Blob, *, chunked: bool = False, mount_from: str | None = None, check_exists: bool = True
    ) -> str:
        """Make sure the repository has ``blob``; return how: exists, mounted, monolithic or chunked."""
        if check_exists and self.blob_exists(blob.digest):
            return "exists"
        location = self.start_upload(mount=blob.digest, from_repository=mount_from)
        if location is None:
            return "mounted"
        if chunked:
            self.upload_chunked(location, blob.data, blob.digest)
            return "chunked"
        self.upload_monolithic(location, blob.data, blob.digest)
        return "monolithic"

    # --- manifests -------------------------------------------------------------------------------

    def push_manifest(self, reference: str, raw: bytes, media_type: str) -> Digest:
        """``PUT`` a manifest under a tag (or its digest); return the digest the registry stored."""
        want = digest_of(raw)
        doing = f"pushing manifest {reference}"
        url = f"{self.base_url}/v2/{self.repository}/manifests/{quote(reference, safe=':@')}"
        headers = {"Content-Type": media_type, "Content-Length": str(len(raw))}
        resp = self._request("PUT", url, doing, headers, body=raw, follow=False)
        self.bytes_sent += len(raw)
        self._done(resp, (201,), doing)
        self._check_digest_header(resp, want, doing)
        return want

    def delete_manifest(self, digest: Digest | str) -> str:
        """``DELETE`` a manifest by digest (every tag on it goes too).

        Returns ``deleted`` (202), ``absent`` (404) or ``unsupported`` (405: the registry has
        deletes turned off); raises OciError for anything else.
        """
        d = parse_digest(str(digest), "manifest digest")
        doing = f"deleting manifest {d}"
        url = f"{self.base_url}/v2/{self.repository}/manifests/{d}"
        resp = self._request("DELETE", url, doing, follow=False)
        if resp.status_code == 401 and self._widen_token(resp):
            resp = self._request("DELETE", url, doing, follow=False)
        status = resp.status_code
        if status in (200, 202, 204, 404, 405):
            resp.close()
            return {404: "absent", 405: "unsupported"}.get(status, "deleted")
        raise self._fail(resp, doing)

    def push_image(
        self, image: Image, tag: str, *, chunked: bool = False, mount_from: str | None = None
    ) -> PushReport:
        """Push every blob of ``image`` (config last, as clients do), then its manifest as ``tag``."""
        report = PushReport(manifest_digest=image.manifest_digest)
        for blob in (*image.layers, image.config):
            report.blobs[str(blob.digest)] = self.push_blob(blob, chunked=chunked, mount_from=mount_from)
        self.push_manifest(tag, image.manifest, image.media_type)
        report.bytes_sent = self.bytes_sent
        return report
