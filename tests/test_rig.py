"""The test rig itself: every registry mode proven end to end with the real skopeo."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rig import skopeo
from rig.net import free_port, port_open, wait_for_port, wait_until
from rig.oci_layout import (
    CANARY_LAYER_SIZES,
    DOCKER_LIST,
    OCI_INDEX,
    ImageInfo,
    write_image_layout,
    write_index_layout,
)
from rig.registry import ROBOT_PASSWORD, ROBOT_USER, RunningRegistry
from rig.tokenserver import TokenServer

MakeRegistry = Callable[..., RunningRegistry]
PushCanary = Callable[..., ImageInfo]

COMBINED_RE = re.compile(
    r'^127\.0\.0\.1 - \S+ \[[^\]]+\] "(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/1\.1" (\d{3}) (\d+) '
)


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def access_lines(text: str) -> list[re.Match[str]]:
    return [m for m in map(COMBINED_RE.match, text.splitlines()) if m]


# -- pure helpers ----------------------------------------------------------------------------


def test_layout_is_deterministic_and_exactly_sized(tmp_path: Path) -> None:
    a = write_image_layout(tmp_path / "a", [300, 10240, 51200], seed=7)
    b = write_image_layout(tmp_path / "b", [300, 10240, 51200], seed=7)
    c = write_image_layout(tmp_path / "c", [300, 10240, 51200], seed=8)
    assert a.manifest_digest == b.manifest_digest != c.manifest_digest
    assert a.layer_sizes == [300, 10240, 51200]
    for digest, size in zip(a.layer_digests, a.layer_sizes, strict=True):
        blob = (a.layout_dir / "blobs/sha256" / digest.split(":")[1]).read_bytes()
        assert len(blob) == size and "sha256:" + hashlib.sha256(blob).hexdigest() == digest
    assert a.total_bytes == len(a.manifest_bytes) + len(a.config_bytes) + sum(a.layer_sizes)
    index = json.loads((a.layout_dir / "index.json").read_text())
    assert index["manifests"][0]["digest"] == a.manifest_digest


def test_net_helpers() -> None:
    port = free_port()
    assert not port_open(port)
    srv = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    try:
        wait_for_port(port, timeout=2)
    finally:
        srv.server_close()
    with pytest.raises(TimeoutError):
        wait_until(lambda: False, timeout=0.05, what="never")


# -- each auth mode: push, pull, compare -------------------------------------------------------


@pytest.mark.parametrize("mode", ["anonymous", "htpasswd", "token"])
def test_push_pull_roundtrip(
    make_registry: MakeRegistry, canary_image: PushCanary, tmp_path: Path, mode: str
) -> None:
    reg = make_registry(mode)
    assert reg.url == f"http://{reg.host}" and reg.host.startswith("127.0.0.1:")
    if mode == "anonymous":
        assert reg.username is None and reg.password is None
    else:
        assert (reg.username, reg.password) == (ROBOT_USER, ROBOT_PASSWORD)
    assert (reg.token_server is not None) == (mode == "token")

    img = canary_image(reg)
    pulled = skopeo.pull(reg, "platform/canary", "v1", tmp_path / "pulled")
    assert pulled.manifest_digest == img.manifest_digest
    assert pulled.manifest_bytes == img.manifest_bytes
    for digest, size in zip(img.layer_digests, CANARY_LAYER_SIZES, strict=True):
        assert reg.blob_path(digest).stat().st_size == size
        assert (pulled.dest_dir / digest.split(":")[1]).stat().st_size == size

    # the registry's own log: JSON logrus lines and combined-format access lines
    text = reg.log_text()
    assert text
    completed = [r for r in json_lines(text) if r.get("msg") == "response completed"]
    assert any(
        r["http.request.method"] == "GET"
        and r["http.request.uri"] == "/v2/platform/canary/manifests/v1"
        and r["http.response.status"] == 200
        and r["http.request.useragent"].startswith("skopeo/")
        for r in completed
    ), text
    assert any(
        m.group(1) == "PUT" and m.group(2) == "/v2/platform/canary/manifests/v1" and m.group(3) == "201"
        for m in access_lines(text)
    )
    if mode == "token":
        assert reg.token_server is not None
        assert reg.token_server.requests >= 2  # push and pull each asked for a token


@pytest.mark.parametrize("mode", ["htpasswd", "token"])
def test_wrong_password_is_refused(
    make_registry: MakeRegistry, canary_image: PushCanary, tmp_path: Path, mode: str
) -> None:
    reg = make_registry(mode)
    canary_image(reg)
    before = len(reg.log_text())
    with pytest.raises(skopeo.SkopeoError) as err:
        skopeo.pull(reg, "platform/canary", "v1", tmp_path / "p", creds=(ROBOT_USER, "wrong"))
    log = reg.log_text()[before:]
    if mode == "htpasswd":
        assert "unauthorized" in err.value.stderr
        assert 'error authenticating user \\"robot\\": authentication failure' in log
        assert any(
            r.get("msg", "").startswith("error authorizing context: basic authentication challenge")
            for r in json_lines(log)
        )
        assert any(m.group(3) == "401" for m in access_lines(log))
    else:
        assert "invalid username/password" in err.value.stderr
        # the refusal happens at the token server; the registry only saw the token-less ping
        assert reg.token_server is not None
        last = reg.token_server.request_log[-1]
        assert (last.user, last.authenticated, last.status) == (ROBOT_USER, False, 401)
        assert "error authorizing context: authorization token required" in log
    # nothing pulled by anybody after the refusal
    assert not any(
        r.get("http.response.status") == 200 and "/manifests/" in r.get("http.request.uri", "")
        for r in json_lines(log)
    )


def test_token_mode_anonymous_pull_only_and_forged_tokens(
    make_registry: MakeRegistry, canary_image: PushCanary, tmp_path: Path, canary_layout: ImageInfo
) -> None:
    reg = make_registry("token")
    assert reg.token_server is not None
    canary_image(reg)
    anon = skopeo.pull(reg, "platform/canary", "v1", tmp_path / "anon", creds=False)
    assert anon.manifest_digest == canary_layout.manifest_digest
    before = len(reg.log_text())
    with pytest.raises(skopeo.SkopeoError, match="denied"):
        skopeo.push(canary_layout.layout_dir, reg, "platform/other", "v1", creds=False)
    assert "error authorizing context: insufficient scope" in reg.log_text()[before:]

    # tokens the registry must not accept: unknown signer (x5c and kid), wrong issuer, expired
    forged = [
        TokenServer({}, fresh_key=True, directory=tmp_path / "evil1"),
        TokenServer({}, fresh_key=True, signing="kid", directory=tmp_path / "evil2"),
        TokenServer({}, issuer="someone-else", directory=tmp_path / "evil3"),
    ]
    access = [{"type": "repository", "name": "platform/canary", "actions": ["pull"]}]
    tokens = [ts.issue_token(ROBOT_USER, access) for ts in forged]
    tokens.append(reg.token_server.issue_token(ROBOT_USER, access, expires_in=-120))
    for tok in tokens:
        status, _, _ = reg.request(
            "GET", "/v2/platform/canary/manifests/v1", headers={"Authorization": f"Bearer {tok}"}
        )
        assert status == 401
    good = reg.token_server.issue_token(ROBOT_USER, access)
    status, headers, _ = reg.request(
        "GET",
        "/v2/platform/canary/manifests/v1",
        headers={"Authorization": f"Bearer {good}", "Accept": canary_layout.manifest_media_type},
    )
    assert status == 200 and headers["docker-content-digest"] == canary_layout.manifest_digest
    log = reg.log_text()
    assert log.count("error authorizing context: invalid token") >= 4
    assert "token from untrusted issuer" in log and "token signed by untrusted key" in log


def test_token_kid_signing_and_token_server_outage(
    make_registry: MakeRegistry, canary_image: PushCanary, tmp_path: Path
) -> None:
    ts = TokenServer({ROBOT_USER: ROBOT_PASSWORD}, signing="kid", directory=tmp_path / "ts")
    try:
        reg = make_registry("token", token_server=ts)
        canary_image(reg)  # distribution 2.8 accepts libtrust "kid" tokens via rootcertbundle
        n = ts.requests
        ts.fail_status = 500
        with pytest.raises(skopeo.SkopeoError, match="500"):
            skopeo.pull(reg, "platform/canary", "v1", tmp_path / "p")
        assert ts.requests == n + 1
        ts.fail_status = None
        skopeo.pull(reg, "platform/canary", "v1", tmp_path / "p2")
    finally:
        ts.stop()


# -- TLS -------------------------------------------------------------------------------------


def test_tls_needs_the_ca(make_registry: MakeRegistry, canary_image: PushCanary, tmp_path: Path) -> None:
    reg = make_registry("htpasswd", tls=True)
    assert reg.url == f"https://{reg.host}" and reg.ca_file is not None and reg.ca_file.exists()
    img = canary_image(reg)
    assert skopeo.pull(reg, "platform/canary", "v1", tmp_path / "ok").manifest_digest == img.manifest_digest
    with pytest.raises(skopeo.SkopeoError, match="certificate signed by unknown authority"):
        skopeo.pull(reg, "platform/canary", "v1", tmp_path / "no-ca", use_ca=False)
    assert "http: TLS handshake error" in reg.log_text()
    status, _, _ = reg.request("GET", "/v2/")  # python trusts it with the CA too
    assert status == 401


# -- multi-platform ----------------------------------------------------------------------------


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_multi_platform_index(registry_anonymous: RunningRegistry, tmp_path: Path, media: str) -> None:
    reg = registry_anonymous
    idx = write_index_layout(tmp_path / "layout", layer_sizes=[2048, 4096], media=media)
    digest = skopeo.push(idx.layout_dir, reg, "platform/multi", "v1", all_platforms=True)
    assert digest == idx.index_digest
    raw = skopeo.inspect_raw(reg, "platform/multi", "v1")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == idx.index_digest
    served = json.loads(raw)
    assert served["mediaType"] == (OCI_INDEX if media == "oci" else DOCKER_LIST)
    assert {f"{m['platform']['os']}/{m['platform']['architecture']}" for m in served["manifests"]} == {
        "linux/amd64",
        "linux/arm64",
    }
    status, headers, body = reg.request(
        "GET", "/v2/platform/multi/manifests/v1", headers={"Accept": idx.index_media_type}
    )
    assert status == 200 and headers["content-type"] == idx.index_media_type
    assert headers["docker-content-digest"] == idx.index_digest
    arm = idx.images["linux/arm64"]
    pulled = skopeo.pull(reg, "platform/multi", arm.manifest_digest, tmp_path / "arm")
    assert pulled.manifest_digest == arm.manifest_digest
    everything = skopeo.pull(reg, "platform/multi", "v1", tmp_path / "all", all_platforms=True)
    assert everything.manifest_digest == idx.index_digest


# -- lifecycle, delete, logging, notifications ---------------------------------------------------


def test_restart_keeps_port_and_storage_and_delete(
    make_registry: MakeRegistry, canary_image: PushCanary, tmp_path: Path
) -> None:
    reg = make_registry("anonymous")
    img = canary_image(reg)
    url, pid = reg.url, reg.pid
    reg.stop()
    reg.stop()  # idempotent
    assert not port_open(reg.port)
    reg.start()
    assert reg.url == url and reg.pid not in (None, pid)
    assert skopeo.pull(reg, "platform/canary", "v1", tmp_path / "p").manifest_digest == img.manifest_digest
    assert reg.log_text().count('"msg":"listening on ') == 2  # log appended across restarts
    skopeo.delete(reg, "platform/canary", "v1")
    with pytest.raises(skopeo.SkopeoError, match="manifest unknown"):
        skopeo.inspect_raw(reg, "platform/canary", "v1")
    assert reg.blob_path(img.layer_digests[0]).exists()  # blobs stay until garbage-collect


def test_delete_disabled_and_text_formatter(make_registry: MakeRegistry, canary_image: PushCanary) -> None:
    reg = make_registry("htpasswd", delete_enabled=False, log_formatter="text")
    canary_image(reg)
    with pytest.raises(skopeo.SkopeoError, match="UNSUPPORTED"):
        skopeo.delete(reg, "platform/canary", "v1")
    text = reg.log_text()
    assert not any(line.startswith("{") for line in text.splitlines())
    assert re.search(r'^time="[^"]+" level=info msg="response completed" ', text, re.M)
    assert re.search(
        r'level=error msg="response completed with error" auth.user.name=robot '
        r"err.code=unsupported",
        text,
    )
    assert access_lines(text)


class _Receiver:
    """Collects registry notification envelopes POSTed to it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.headers.append(dict(self.headers))
                receiver.events.extend(json.loads(body).get("events", []))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/events"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_notifications_endpoint_is_accepted_and_delivers(
    make_registry: MakeRegistry, canary_image: PushCanary
) -> None:
    rx = _Receiver()
    try:
        reg = make_registry(
            "anonymous",
            notifications_url=rx.url,
            notifications_headers={"Authorization": "Bearer rig-secret"},
        )
        assert reg.config["notifications"]["endpoints"][0]["url"] == rx.url
        assert f"configuring endpoint regwatch ({rx.url})" in reg.log_text()
        img = canary_image(reg)
        wait_until(
            lambda: any(e["action"] == "push" and e["target"].get("tag") == "v1" for e in rx.events),
            timeout=10,
            what="push notification",
        )
        push = next(e for e in rx.events if e["action"] == "push" and e["target"].get("tag") == "v1")
        assert push["target"]["repository"] == "platform/canary"
        assert push["target"]["digest"] == img.manifest_digest
        assert rx.headers[0]["Authorization"] == "Bearer rig-secret"
    finally:
        rx.close()
