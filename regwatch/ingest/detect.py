"""Guess a log file's format from its first lines."""

from __future__ import annotations

import json
import re

from regwatch.errors import IngestError

_ACCESS = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "')
_LOGFMT = re.compile(r'^time="[^"]+" level=[a-z]+ ')


def detect(head: bytes, *, name: str) -> str:
    """Return ``distribution``, ``nginx`` or ``notifications`` for a file starting with ``head``."""
    text = head.decode("utf-8", errors="replace")
    lines = [ln.strip() for ln in text.splitlines()[:50] if ln.strip()]
    votes = {"distribution": 0, "nginx": 0, "notifications": 0}
    access = 0
    for ln in lines:
        if _LOGFMT.match(ln):
            votes["distribution"] += 1
        elif ln.startswith("{"):
            try:
                obj = json.loads(ln)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            if "events" in obj or ("action" in obj and "target" in obj):
                votes["notifications"] += 1
            elif "msg" in obj and ("level" in obj or "time" in obj):
                votes["distribution"] += 1
            elif any(k in obj for k in ("remote_addr", "request", "status", "request_uri", "time_local")):
                votes["nginx"] += 1
        elif _ACCESS.match(ln):
            access += 1
    if votes["distribution"]:
        return "distribution"  # its access lines come along with the logrus lines
    if votes["notifications"]:
        return "notifications"
    if votes["nginx"] or access:
        return "nginx"
    raise IngestError(f"{name}: cannot tell the log format from its first lines; pass --format")
