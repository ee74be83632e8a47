"""Shared pytest fixtures.

Rig fixtures (real registries, token server, skopeo) come first; other suites may
append their own fixtures below the marked section.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------------------------------
# rig fixtures: real docker-registry (distribution 2.8) + skopeo on 127.0.0.1
# ---------------------------------------------------------------------------------------
from rig import skopeo as rig_skopeo
from rig.net import LOOPBACK_NAMES
from rig.oci_layout import CANARY_REPOSITORY, CANARY_TAG, ImageInfo, write_canary_layout
from rig.registry import RunningRegistry, registry_binary, start_registry, stop_all


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may query a real resolver (it is not on loopback): every name but loopback fails
    in-process, as a resolver failure would. Tests of the ``dns`` probe reason build on this."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(scope="session")
def rig_binaries() -> dict[str, str]:
    """Paths of docker-registry and skopeo. Missing binaries FAIL the test (CI installs
    them: apt-get install docker-registry skopeo apache2-utils); they never skip."""
    found: dict[str, str] = {}
    for name, finder in (("docker-registry", registry_binary), ("skopeo", rig_skopeo.skopeo_binary)):
        try:
            found[name] = finder()
        except RuntimeError as e:
            pytest.fail(f"rig prerequisite missing: {e}", pytrace=False)
    return found


@pytest.fixture
def make_registry(rig_binaries: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., RunningRegistry]]:
    """Factory: ``make_registry(mode="anonymous", **start_registry_kwargs)``.

    Each registry lives in its own directory under tmp_path; all are stopped (with
    their token servers) at teardown.
    """
    made: list[RunningRegistry] = []
    counter = itertools.count(1)

    def factory(mode: str = "anonymous", **kw: Any) -> RunningRegistry:
        base = tmp_path / f"registry-{next(counter)}-{mode}"
        reg = start_registry(base, mode, **kw)
        made.append(reg)
        return reg

    yield factory
    for reg in reversed(made):
        reg.close()


@pytest.fixture
def registry_anonymous(make_registry: Callable[..., RunningRegistry]) -> RunningRegistry:
    return make_registry("anonymous")


@pytest.fixture
def registry_htpasswd(make_registry: Callable[..., RunningRegistry]) -> RunningRegistry:
    return make_registry("htpasswd")


@pytest.fixture
def registry_token(make_registry: Callable[..., RunningRegistry]) -> RunningRegistry:
    return make_registry("token")


@pytest.fixture(scope="session")
def canary_layout(tmp_path_factory: pytest.TempPathFactory) -> ImageInfo:
    """The canary OCI layout (layers of 10 KiB and 50 KiB), written once per session."""
    return write_canary_layout(tmp_path_factory.mktemp("canary-layout"))


@pytest.fixture
def canary_image(rig_binaries: dict[str, str], canary_layout: ImageInfo) -> Callable[..., ImageInfo]:
    """``canary_image(reg, repository="platform/canary", tag="v1", creds=None) -> ImageInfo``:
    push the canary layout with skopeo and return its ImageInfo (digests, sizes)."""

    def push(
        reg: RunningRegistry, repository: str = CANARY_REPOSITORY, tag: str = CANARY_TAG, creds: Any = None
    ) -> ImageInfo:
        digest = rig_skopeo.push(canary_layout.layout_dir, reg, repository, tag, creds=creds)
        assert digest == canary_layout.manifest_digest, (digest, canary_layout.manifest_digest)
        return canary_layout

    return push


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_all()  # belt and braces: no registry outlives the test session


# ---------------------------------------------------------------------------------------
# end of rig fixtures
# ---------------------------------------------------------------------------------------
