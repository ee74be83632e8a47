"""The pull side of the OCI distribution spec, as a first-attempt client with hard limits.

(The push side, :class:`~regwatch.oci.push.PushClient`, builds on this class.)

One :class:`RegistryClient` serves one pull of one repository: it owns a fresh connection pool,
retries nothing, follows redirects itself (dropping the registry's ``Authorization`` when a
redirect leaves the registry's origin), and bounds every size and the overall time. Every failure
is an :class:`~regwatch.oci.errors.OciError` whose ``reason`` names what went wrong.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests

from regwatch import __version__
from regwatch.oci import media
from regwatch.oci.auth import DEFAULT_TOKEN_SECONDS, Credentials, TokenCache, parse_challenges
from regwatch.oci.digest import Digest, digest_of, parse_digest, read_and_hash
from regwatch.oci.errors import OciError
from regwatch.oci.transport import Deadline, classify, new_session

USER_AGENT = f"regwatch/{__version__} (probe)"


@dataclass(frozen=True)
class Limits:
    """Hard limits against hostile or broken servers."""

    max_manifest_bytes: int = 4 * 1024 * 1024
    max_token_bytes: int = 256 * 1024
    max_error_bytes: int = 64 * 1024
    max_headers: int = 100
    max_redirects: int = 5
    max_layers: int = 1000


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: media type, digest, size (and platform, in an index)."""

    media_type: str
    digest: Digest
    size: int
    platform: dict[str, Any] | None = None


@dataclass(frozen=True)
class ImageManifest:
    """A platform image manifest: its digest, config and layers."""

    digest: Digest
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    raw: bytes


@dataclass
class Fetched:
    """A manifest (or index) as served."""

    raw: bytes
    media_type: str
    doc: dict[str, Any]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_detail(body: bytes) -> str:
    """``CODE: message`` from a registry error body, else a short text excerpt."""
    try:
        doc = json.loads(body)
        first = doc["errors"][0]
        return f"{first.get('code', '?')}: {str(first.get('message', ''))[:160]}"
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        text = body[:120].decode("utf-8", "replace").strip().replace("\n", " ")
        return text


class RegistryClient:
    """A one-pull client for one repository at one registry endpoint."""

    def __init__(
        self,
        base_url: str,
        repository: str,
        *,
        deadline: Deadline,
        credentials: Credentials | None = None,
        verify: bool | str = True,
        limits: Limits | None = None,
        tokens: TokenCache | None = None,
        actions: str = "pull",
        extra_scopes: tuple[str, ...] = (),
        request_timeout: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.repository = repository
        #: Bearer scopes asked for: this repository with ``actions``, then ``extra_scopes``.
        self.scopes = (f"repository:{repository}:{actions}", *extra_scopes)
        #: Cap on one request's socket timeout (default: whatever is left of the deadline).
        self.request_timeout = request_timeout
        self.deadline = deadline
        self.credentials = credentials
        self.verify = verify
        self.limits = limits or Limits()
        self.tokens = tokens
        self.session = new_session(deadline, USER_AGENT)
        self.bytes_read = 0  # manifest and blob bytes received, including from failed steps
        self.last_status: int | None = None
        self.token_fetched = False
        self._authorization: str | None = None

    def secret_values(self) -> list[str]:
        """Credentials in use right now (token or Basic value), for callers that redact text."""
        return [self._authorization.split(" ", 1)[-1]] if self._authorization else []

    def _scrub(self, body: bytes) -> bytes:
        """Blank out our own credentials in text a (hostile) server sent back, before it is cut short."""
        values = self.secret_values()
        if self.credentials is not None:
            values += [self.credentials.password, self.credentials.basic_header().split(" ", 1)[1]]
        for value in values:
            if len(value) >= 3:
                body = body.replace(value.encode(), b"***")
        return body

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- HTTP ------------------------------------------------------------------------------------

    def _timeout(self, doing: str) -> float:
        left = self.deadline.check(doing)
        return min(left, self.request_timeout) if self.request_timeout else left

    def _get(
        self, url: str, doing: str, headers: dict[str, str] | None = None, *, auth: bool = True
    ) -> requests.Response:
        """GET with redirects followed by hand; the body is left unread (streamed)."""
        return self._request("GET", url, doing, headers, auth=auth)

    def _request(
        self,
        method: str,
        url: str,
        doing: str,
        headers: dict[str, str] | None = None,
        *,
        auth: bool = True,
        body: bytes | None = None,
        follow: bool = True,
    ) -> requests.Response:
        """One request; redirects followed by hand when ``follow`` (GET/HEAD); the body is streamed."""
        hdrs = dict(headers or {})
        if auth and self._authorization:
            hdrs["Authorization"] = self._authorization
        origin = _origin(url)
        for _ in range(self.limits.max_redirects + 1):
            timeout = self._timeout(doing)
            try:
                resp = self.session.request(
                    method, url, headers=hdrs, data=body, stream=True, allow_redirects=False,
                    verify=self.verify, timeout=timeout,
                )  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - classified into a reason or re-raised
                raise classify(exc, self.deadline, doing) from None
            self.last_status = resp.status_code
            if len(resp.raw.headers) > self.limits.max_headers:
                resp.close()
                raise OciError(
                    "protocol",
                    f"{len(resp.raw.headers)} response headers (limit {self.limits.max_headers}) while {doing}",
                    status=resp.status_code,
                )
            if not follow or resp.status_code not in (301, 302, 303, 307, 308):
                return resp
            location = resp.headers.get("Location")
            resp.close()
            if not location:
                raise OciError(
                    "protocol", f"redirect without Location while {doing}", status=resp.status_code
                )
            url = urljoin(url, location)
            if urlsplit(url).scheme not in ("http", "https"):
                raise OciError(
                    "protocol", f"redirect to a non-HTTP URL while {doing}", status=resp.status_code
                )
            if _origin(url) != origin:
                hdrs.pop("Authorization", None)  # the registry's credentials stay with the registry
        raise OciError(
            "protocol",
            f"more than {self.limits.max_redirects} redirects while {doing}",
            status=self.last_status,
        )

    def _read_body(self, resp: requests.Response, limit: int, doing: str) -> bytes:
        """Read a whole body of at most ``limit`` bytes (more is an error raised by the caller)."""
        chunks: list[bytes] = []
        total = 0
        try:
            while total <= limit:
                piece = resp.raw.read(min(65536, limit + 1 - total), decode_content=False)
                if not piece:
                    break
                chunks.append(piece)
                total += len(piece)
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, self.deadline, doing) from None
        finally:
            resp.close()
        if self.deadline.expired:
            raise self.deadline.error(doing)
        body = b"".join(chunks)
        declared = resp.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and len(body) < int(declared) and len(body) <= limit:
            raise OciError(
                "protocol",
                f"body cut short at {len(body)} of {declared} bytes while {doing}",
                status=resp.status_code,
            )
        return body

    def _fail(self, resp: requests.Response, doing: str, *, token: bool = False) -> OciError:
        """The error for a non-success status (the body is read, bounded, for its detail)."""
        status = resp.status_code
        try:
            body = self._read_body(resp, self.limits.max_error_bytes, doing)
            detail = _error_detail(self._scrub(body))
        except OciError:
            detail = ""
        where = f"HTTP {status} while {doing}" + (f" ({detail})" if detail else "")
        if status == 401:
            return OciError("unauthorized", where, status=status)
        if status == 403:
            return OciError("forbidden", where, status=status)
        if status == 429:
            ra = retry_after_seconds(resp.headers.get("Retry-After"))
            return OciError("rate_limited", where, status=status, retry_after=ra)
        if token:
            return OciError("token_error", where, status=status)
        if status == 404:
            return OciError("not_found", where, status=status)
        if status >= 500:
            return OciError("server_error", where, status=status)
        return OciError("protocol", where, status=status)

    # --- auth ------------------------------------------------------------------------------------

    def authenticate(self) -> None:
        """Ping ``/v2/`` and answer its challenge (Basic or Bearer) so later requests are authorised."""
        doing = "pinging /v2/"
        resp = self._get(f"{self.base_url}/v2/", doing, auth=False)
        if resp.status_code == 200:
            resp.close()
            return
        if resp.status_code != 401:
            raise self._fail(resp, doing)
        challenges = {c.scheme: c for c in parse_challenges(resp.headers.get("WWW-Authenticate", ""))}
        resp.close()
        if "bearer" in challenges:
            self._authorization = "Bearer " + self._bearer_token(challenges["bearer"].params)
        elif "basic" in challenges:
            if self.credentials is None:
                raise OciError("unauthorized", "registry requires Basic credentials; none given", status=401)
            self._authorization = self.credentials.basic_header()
        else:
            raise OciError("unauthorized", "HTTP 401 without a Basic or Bearer challenge", status=401)

    def _bearer_token(self, params: dict[str, str]) -> str:
        realm = params.get("realm", "")
        if urlsplit(realm).scheme not in ("http", "https") or not urlsplit(realm).hostname:
            raise OciError("token_error", "Bearer challenge without an http(s) realm", status=401)
        service = params.get("service", "")
        scope = " ".join(self.scopes)
        user = self.credentials.username if self.credentials else ""
        key = (realm, service, scope, user)
        if self.tokens is not None and (cached := self.tokens.get(key)):
            return cached
        query = [("scope", s) for s in self.scopes] + ([("service", service)] if service else [])
        url = realm + ("&" if urlsplit(realm).query else "?") + urlencode(query)
        headers = {"Authorization": self.credentials.basic_header()} if self.credentials else {}
        doing = "fetching a token"
        try:
            resp = self._get(url, doing, headers, auth=False)
        except OciError as exc:
            if exc.reason in ("timeout", "token_error"):
                raise
            raise OciError("token_error", f"token service: {exc}", status=exc.status) from None
        if resp.status_code != 200:
            raise self._fail(resp, doing, token=True)
        declared = resp.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_token_bytes:
            resp.close()
            raise OciError("token_error", f"token response of {declared} bytes is over the limit", status=200)
        body = self._read_body(resp, self.limits.max_token_bytes, doing)
        if len(body) > self.limits.max_token_bytes:
            raise OciError("token_error", "token response is over the size limit", status=200)
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
            expires_in = float(doc.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (ValueError, AttributeError, TypeError):
            raise OciError("token_error", "token response is not a JSON token object", status=200) from None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise OciError("token_error", "token response holds no usable token", status=200)
        self.token_fetched = True
        if self.tokens is not None:
            self.tokens.put(key, token, expires_in)
        return token

    # --- manifests ---------------------------------------------------------------------------------

    def fetch_manifest(self, reference: str, expect: Descriptor | None = None) -> Fetched:
        """GET a manifest or index by tag or digest, verified against every digest that is known."""
        doing = f"fetching manifest {reference}"
        url = f"{self.base_url}/v2/{self.repository}/manifests/{quote(reference, safe=':@')}"
        resp = self._get(url, doing, {"Accept": media.MANIFEST_ACCEPT})
        if resp.status_code != 200:
            raise self._fail(resp, doing)
        limit = self.limits.max_manifest_bytes
        declared = resp.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            resp.close()
            raise OciError(
                "manifest_invalid", f"manifest of {declared} bytes is over the {limit}-byte limit", status=200
            )
        raw = self._read_body(resp, limit, doing)
        self.bytes_read += len(raw)
        if len(raw) > limit:
            raise OciError("manifest_invalid", f"manifest is over the {limit}-byte limit", status=200)
        header = resp.headers.get("Docker-Content-Digest")
        if header:
            try:
                served = parse_digest(header.strip(), "Docker-Content-Digest")
            except OciError:
                raise OciError("protocol", "Docker-Content-Digest is not a digest", status=200) from None
            if not served.matches(raw):
                raise OciError(
                    "digest_mismatch",
                    f"manifest bytes do not match Docker-Content-Digest {served}",
                    status=200,
                )
        if reference.startswith(("sha256:", "sha512:")) and not parse_digest(reference).matches(raw):
            raise OciError("digest_mismatch", f"manifest bytes do not match {reference}", status=200)
        if expect is not None:
            if len(raw) != expect.size:
                raise OciError(
                    "size_mismatch", f"manifest is {len(raw)} bytes, the index says {expect.size}", status=200
                )
            if not expect.digest.matches(raw):
                raise OciError("digest_mismatch", f"manifest bytes do not match {expect.digest}", status=200)
        try:
            doc = json.loads(raw)
        except ValueError:
            raise OciError("manifest_invalid", "manifest is not JSON", status=200) from None
        if not isinstance(doc, dict):
            raise OciError("manifest_invalid", "manifest is not a JSON object", status=200)
        content_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        declared_type = doc.get("mediaType")
        mt = declared_type if isinstance(declared_type, str) else content_type
        return Fetched(raw, mt, doc)

    def head_manifest(self, reference: str) -> Digest | None:
        """The digest ``reference`` resolves to (``HEAD``, else ``GET`` and hash), or None on a 404.

        ``HEAD`` answers with ``Docker-Content-Digest``; a registry that refuses ``HEAD`` (405) or
        answers it without that header is asked with ``GET``, and the body is hashed (and verified).
        """
        doing = f"checking manifest {reference}"
        url = f"{self.base_url}/v2/{self.repository}/manifests/{quote(reference, safe=':@')}"
        resp = self._request("HEAD", url, doing, {"Accept": media.MANIFEST_ACCEPT})
        if resp.status_code == 404:
            resp.close()
            return None
        if resp.status_code == 200:
            header = resp.headers.get("Docker-Content-Digest", "").strip()
            resp.close()
            if header:
                try:
                    return parse_digest(header, "Docker-Content-Digest")
                except OciError:
                    raise OciError("protocol", "Docker-Content-Digest is not a digest", status=200) from None
        elif resp.status_code == 405:
            resp.close()
        else:
            raise self._fail(resp, doing)
        try:
            fetched = self.fetch_manifest(reference)
        except OciError as exc:
            if exc.reason == "not_found":
                return None
            raise
        algo = reference.split(":", 1)[0] if reference.startswith(("sha256:", "sha512:")) else "sha256"
        return digest_of(fetched.raw, algo)

    def resolve(self, reference: str, platform: str) -> ImageManifest:
        """Fetch the manifest for ``reference``, resolving an index to ``platform`` (os/arch[/variant])."""
        top = self.fetch_manifest(reference)
        if _is_index(top):
            entry = select_platform(_descriptors(top.doc.get("manifests"), "manifests"), platform)
            if entry is None:
                raise OciError("platform_missing", f"the index of {reference} has no {platform} manifest")
            if entry.media_type in media.INDEX_TYPES:
                raise OciError("manifest_invalid", "an index entry for the platform is itself an index")
            child = self.fetch_manifest(str(entry.digest), expect=entry)
            if _is_index(child):
                raise OciError("manifest_invalid", "an index entry for the platform is itself an index")
            return self._image(child, entry.digest)
        algo = reference.split(":", 1)[0] if reference.startswith(("sha256:", "sha512:")) else "sha256"
        return self._image(top, digest_of(top.raw, algo))

    def _image(self, fetched: Fetched, digest: Digest) -> ImageManifest:
        doc = fetched.doc
        if doc.get("schemaVersion") != 2:
            raise OciError("manifest_invalid", f"unsupported schemaVersion {doc.get('schemaVersion')!r}")
        if fetched.media_type not in media.MANIFEST_TYPES and fetched.media_type:
            raise OciError("manifest_invalid", f"unsupported manifest media type {fetched.media_type[:80]!r}")
        config = _descriptors([doc.get("config")], "config")[0]
        layers = _descriptors(doc.get("layers"), "layers")
        if len(layers) > self.limits.max_layers:
            raise OciError("manifest_invalid", f"{len(layers)} layers (limit {self.limits.max_layers})")
        return ImageManifest(digest, fetched.media_type, config, tuple(layers), fetched.raw)

    # --- blobs -----------------------------------------------------------------------------------------

    def fetch_blob(self, desc: Descriptor, what: str = "blob") -> int:
        """Stream a blob, verifying its size and digest; return its size. Memory stays bounded."""
        doing = f"downloading {what} {desc.digest}"
        url = f"{self.base_url}/v2/{self.repository}/blobs/{desc.digest}"
        resp = self._get(url, doing)
        if resp.status_code != 200:
            raise self._fail(resp, doing)
        declared = resp.headers.get("Content-Length")
        length = int(declared) if declared is not None and declared.isdigit() else None
        if length is not None and length != desc.size:
            resp.close()
            raise OciError(
                "size_mismatch",
                f"{what} is served as {length} bytes, the manifest says {desc.size}",
                status=200,
            )
        readinto = self._readinto(resp)
        try:
            total, hexd = read_and_hash(readinto, desc.digest.algorithm, desc.size + 1)
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, self.deadline, doing) from None
        finally:
            resp.close()
        if self.deadline.expired:
            raise self.deadline.error(doing)
        if length is not None and total < length:
            raise OciError("protocol", f"{what} body cut short at {total} of {length} bytes", status=200)
        if total != desc.size:
            raise OciError(
                "size_mismatch", f"{what} is {total}{'+' if total > desc.size else ''} bytes, "
                f"the manifest says {desc.size}", status=200,
            )  # fmt: skip
        if hexd != desc.digest.hex:
            raise OciError("digest_mismatch", f"{what} content does not match {desc.digest}", status=200)
        return total

    def _readinto(self, resp: requests.Response) -> Callable[[memoryview], int]:
        # Read straight from http.client's response: urllib3's readinto copies through a buffer.
        raw_fp = getattr(resp.raw, "_fp", None)
        base = raw_fp.readinto if isinstance(raw_fp, http.client.HTTPResponse) else resp.raw.readinto

        def counted(view: memoryview) -> int:
            n = base(view)
            self.bytes_read += n
            return n

        return counted


def _is_index(fetched: Fetched) -> bool:
    return fetched.media_type in media.INDEX_TYPES or (
        not fetched.media_type and isinstance(fetched.doc.get("manifests"), list)
    )


def _descriptors(items: Any, where: str) -> list[Descriptor]:
    if not isinstance(items, list):
        raise OciError("manifest_invalid", f"manifest {where} is not a list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise OciError("manifest_invalid", f"manifest {where}[{i}] is not an object")
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise OciError("manifest_invalid", f"manifest {where}[{i}].size is not a size")
        plat = item.get("platform")
        out.append(
            Descriptor(
                media_type=str(item.get("mediaType") or ""),
                digest=parse_digest(item.get("digest"), f"manifest {where}[{i}].digest"),
                size=size,
                platform=plat if isinstance(plat, dict) else None,
            )
        )
    return out


def select_platform(entries: list[Descriptor], platform: str) -> Descriptor | None:
    """The index entry for ``os/arch[/variant]``; an unspecified variant prefers entries without one."""
    parts = platform.split("/")
    want_os, want_arch = parts[0], parts[1]
    want_variant = parts[2] if len(parts) > 2 else None
    candidates = [
        e
        for e in entries
        if e.platform and e.platform.get("os") == want_os and e.platform.get("architecture") == want_arch
    ]
    if want_variant is not None:
        for e in candidates:
            variant = (e.platform or {}).get("variant")
            if variant == want_variant or (variant is None and want_arch == "arm64" and want_variant == "v8"):
                return e
        return None
    plain = [e for e in candidates if not (e.platform or {}).get("variant")]
    best = plain or candidates
    return best[0] if best else None
