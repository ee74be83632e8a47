"""Probe test fixtures: test passwords, and the fault-injecting proxy factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from probe_helpers import PASSWORD_ENV, WRONG_PASSWORD, WRONG_PASSWORD_ENV, FaultProxy


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
