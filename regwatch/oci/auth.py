"""Registry authentication: ``WWW-Authenticate`` challenges, credentials and bearer tokens.

The token flow is the Docker token spec that every OCI registry implements: a ``401`` from
``GET /v2/`` names a ``realm`` (the token endpoint) and a ``service``; the client asks the realm for
a token with ``scope=repository:<name>:pull`` (sending its credentials as HTTP Basic, or nothing
when anonymous) and presents ``Authorization: Bearer <token>`` to the registry from then on.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SPACE = re.compile(r"[ \t,]*")

#: Tokens are valid for 60 s when the token endpoint does not say (the spec's default).
DEFAULT_TOKEN_SECONDS = 60.0


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: a scheme (lowercase) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` into its challenges (RFC 7235 auth-params, quoted or not).

    ``Bearer realm="https://a/token",service="reg", Basic realm="x"`` gives two challenges.
    Malformed pieces are skipped rather than failing the whole header.
    """
    out: list[Challenge] = []
    current: Challenge | None = None
    pos, end = 0, len(header)
    while pos < end:
        pos = _SPACE.match(header, pos).end()  # type: ignore[union-attr]
        m = _TOKEN.match(header, pos)
        if not m:
            pos += 1  # stray character: skip it
            continue
        name, pos = m.group(0), m.end()
        after = pos
        while after < end and header[after] in " \t":
            after += 1
        if after < end and header[after] == "=":
            pos = after + 1
            while pos < end and header[pos] in " \t":
                pos += 1
            q = _QUOTED.match(header, pos)
            if q:
                value, pos = re.sub(r"\\(.)", r"\1", q.group(1)), q.end()
            else:
                v = _TOKEN.match(header, pos)
                value, pos = (v.group(0), v.end()) if v else ("", pos)
            if current is not None:  # a parameter before any scheme is ignored
                current.params[name.lower()] = value
        else:
            current = Challenge(name.lower(), {})
            out.append(current)
    return out


@dataclass(frozen=True)
class Credentials:
    """A username and password; the password never shows in repr or str."""

    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        """The ``Authorization`` value for HTTP Basic."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __str__(self) -> str:
        return f"Credentials({self.username}, ***)"


class TokenCache:
    """Bearer tokens kept until they expire, keyed by realm, service, scope and user.

    Shared by the probes of one round only when ``probe.reuse_tokens`` is on; by default every
    probe fetches its own token, as a cold node does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str, str], tuple[str, float]] = {}

    def get(self, key: tuple[str, str, str, str]) -> str | None:
        """A cached token that is still valid for at least a second, else None."""
        with self._lock:
            hit = self._tokens.get(key)
            if hit is None or hit[1] - time.monotonic() < 1.0:
                return None
            return hit[0]

    def put(self, key: tuple[str, str, str, str], token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + expires_in)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)
