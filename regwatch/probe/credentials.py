"""Credentials of an auth path, and the strings to blank out of anything a probe reports."""

from __future__ import annotations

import urllib3

from regwatch.config import AuthPath, Region
from regwatch.oci import Credentials


def credentials_for(auth_path: AuthPath) -> tuple[Credentials | None, list[str]]:
    """The auth path's credentials (None when anonymous) and its secret strings, for redaction.

    Raises ConfigError when the password cannot be read.
    """
    if auth_path.username is None:
        return None, []
    secret = auth_path.password
    password = secret.reveal() if secret is not None else ""
    creds = Credentials(auth_path.username, password)
    return creds, [password, creds.basic_header().split(" ", 1)[1]]


def verify_for(region: Region) -> bool | str:
    """``requests``' ``verify=`` for a region's TLS settings."""
    if not region.tls.verify:
        # the config opted out of verification: urllib3's per-request warning would only be noise
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return False
    return region.tls.ca_file or True


def redact(text: str, secrets: list[str]) -> str:
    """Blank every secret (of 3 characters or more) out of ``text``."""
    for s in secrets:
        if s and len(s) >= 3:
            text = text.replace(s, "***")
    return text
