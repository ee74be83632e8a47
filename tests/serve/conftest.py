"""Fixtures for the serve tests (stand-ins and helpers live in serve/standins.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from serve.standins import BASE_CONFIG, Exporter, StandIns

from regwatch.config import parse_config
from regwatch.serve import Service
from regwatch.serve.webconfig import WebConfig


@pytest.fixture
def make_exporter(tmp_path: Path) -> Iterator[Callable[..., Exporter]]:
    """Factory: ``make_exporter(config_yaml=BASE_CONFIG, standins=None, web_config=None, **service_kw)``."""
    started: list[Service] = []

    def factory(
        config_yaml: str = BASE_CONFIG,
        standins: StandIns | None = None,
        web_config: WebConfig | None = None,
        session: requests.Session | None = None,
        **kw: Any,
    ) -> Exporter:
        cfg = parse_config(config_yaml, "test.yaml")
        standins = standins or StandIns()
        kw.setdefault("listen", "127.0.0.1:0")
        service = Service(
            cfg, str(tmp_path / "store.duckdb"), web_config=web_config or WebConfig(),
            backends=standins.backends(), db_wait=5, **kw,
        )  # fmt: skip
        service.start()
        started.append(service)
        return Exporter(service, standins, session or requests.Session())

    yield factory
    for s in started:
        s.stop()
