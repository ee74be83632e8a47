"""Replication and tag-probe fixtures: the rig's password in the environment."""

from __future__ import annotations

import pytest
from replication_helpers import PASSWORD_ENV


@pytest.fixture(autouse=True)
def robot_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from rig.registry import ROBOT_PASSWORD

    monkeypatch.setenv(PASSWORD_ENV, ROBOT_PASSWORD)
