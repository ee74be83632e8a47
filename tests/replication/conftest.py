"""Replication and tag-probe fixtures: no real DNS, the rig's password in the environment."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from replication_helpers import LOOPBACK_NAMES, PASSWORD_ENV


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here may query a real resolver: every name but loopback fails in-process."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(autouse=True)
def robot_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from rig.registry import ROBOT_PASSWORD

    monkeypatch.setenv(PASSWORD_ENV, ROBOT_PASSWORD)
