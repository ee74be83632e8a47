"""Probe test fixtures: no real DNS, test passwords, and the fault-injecting proxy factory."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from probe_helpers import LOOPBACK_NAMES, PASSWORD_ENV, WRONG_PASSWORD, WRONG_PASSWORD_ENV, FaultProxy


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No probe test may query a real resolver: every name but loopback fails in-process."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(autouse=True)
def passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from rig.registry import ROBOT_PASSWORD

    monkeypatch.setenv(PASSWORD_ENV, ROBOT_PASSWORD)
    monkeypatch.setenv(WRONG_PASSWORD_ENV, WRONG_PASSWORD)


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str], FaultProxy]]:
    """Factory: ``fault_proxy(registry_url) -> FaultProxy`` (stopped at teardown)."""
    made: list[FaultProxy] = []

    def factory(upstream: str) -> FaultProxy:
        p = FaultProxy(upstream)
        made.append(p)
        return p

    yield factory
    for p in made:
        p.stop()
