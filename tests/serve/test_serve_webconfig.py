"""Exporter-toolkit web config: parsing, bcrypt basic auth, TLS (in-process, real HTTPS)."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest
import requests
from rig.tlsca import CertAuthority
from serve.standins import Exporter

from regwatch.errors import ConfigError
from regwatch.serve.webconfig import BasicAuth, load_web_config, parse_web_config

Make = Callable[..., Exporter]
HASH = bcrypt.hashpw(b"scrape-pass", bcrypt.gensalt(4)).decode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_empty_file_means_plain_http_without_auth() -> None:
    wc = parse_web_config("", "web.yml")
    assert (wc.tls, wc.basic_auth_users, wc.ssl_context(), wc.authenticator()) == (None, {}, None, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo: 1", "web.yml: web config.foo: unknown or unsupported key (expected one of: basic_auth_users, "
                   "http_server_config, tls_server_config)"),
        ("tls_server_config: {cert_file: a.crt}", "web.yml: tls_server_config.key_file: required when TLS is "
                                                  "configured"),
        ("tls_server_config: {cert_file: a, key_file: b, cipher_suites: [x]}",
         "web.yml: tls_server_config.cipher_suites: unknown or unsupported key (expected one of: "
         "cert_file, client_auth_type, client_ca_file, key_file, max_version, min_version)"),
        ("tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAnyClientCert}",
         "web.yml: tls_server_config.client_auth_type: RequireAnyClientCert accepts unverified certificates "
         "and is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"),
        ("tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert}",
         "web.yml: tls_server_config.client_ca_file: required for RequireAndVerifyClientCert"),
        ("tls_server_config: {cert_file: a, key_file: b, min_version: TLS99}",
         "web.yml: tls_server_config.min_version: must be one of TLS10, TLS11, TLS12, TLS13"),
        ("basic_auth_users: {alice: hunter2}",
         "web.yml: basic_auth_users.alice: must be a bcrypt hash ($2y$...), not a password"),
        ("http_server_config: {headers: {Content-Type: x}}",
         "web.yml: http_server_config.headers.Content-Type: may not be set"),
        ("[1, 2", "web.yml: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_web_config(text, "web.yml")
    assert str(err.value) == message


def test_missing_file_and_unreadable_certificates(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yml: web config file not found"):
        load_web_config(str(tmp_path / "nope.yml"))
    (tmp_path / "web.yml").write_text("tls_server_config: {cert_file: missing.crt, key_file: missing.key}\n")
    wc = load_web_config(str(tmp_path / "web.yml"))
    assert wc.tls is not None and wc.tls.cert_file == str(tmp_path / "missing.crt")  # relative to the file
    with pytest.raises(ConfigError, match="tls_server_config: cannot load cert_file"):
        wc.ssl_context()


def test_basic_auth_checks_bcrypt_and_caches_only_successes() -> None:
    auth = BasicAuth({"prometheus": HASH, "other": "$2y$" + HASH[4:]})
    assert auth.check(_basic("prometheus", "scrape-pass")) is True
    assert auth.check(_basic("prometheus", "scrape-pass")) is True  # from the cache
    assert auth.check(_basic("other", "scrape-pass")) is True  # $2y$ (htpasswd) hashes work too
    assert auth.check(_basic("prometheus", "wrong")) is False
    assert auth.check(_basic("nobody", "scrape-pass")) is False
    assert auth.check(_basic("prometheus", "x" * 100)) is False  # over bcrypt's 72 bytes: refused, no crash
    for header in (None, "", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        assert auth.check(header) is False


def test_basic_auth_and_tls_in_front_of_metrics(make_exporter: Make, tmp_path: Path) -> None:
    ca = CertAuthority.create(tmp_path / "ca")
    cert, key = ca.issue_server_cert(tmp_path / "tls", ["127.0.0.1", "localhost"])
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        f"basic_auth_users:\n  prometheus: '{HASH}'\n"
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    )
    session = requests.Session()
    session.verify = str(ca.ca_file)
    ex = make_exporter(web_config=load_web_config(str(web)), session=session)
    assert ex.url.startswith("https://127.0.0.1:")
    r = ex.get("/metrics")
    assert (r.status_code, r.headers["WWW-Authenticate"]) == (401, 'Basic realm="regwatch"')
    r = ex.get("/metrics", auth=("prometheus", "wrong"))
    assert r.status_code == 401
    r = ex.get("/metrics", auth=("prometheus", "scrape-pass"))
    assert r.status_code == 200 and "regwatch_build_info" in r.text
    assert r.headers["X-Frame-Options"] == "deny"
    assert ex.get("/healthz").status_code == 200  # liveness and readiness stay open
    # plain HTTP on the TLS port gets nothing useful, and the server keeps serving
    with pytest.raises(requests.RequestException):
        requests.get(ex.url.replace("https://", "http://") + "/metrics", timeout=5)
    # a client that does not trust the CA is refused by its own verification
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(ex.url + "/metrics", timeout=5)
    assert ex.get("/metrics", auth=("prometheus", "scrape-pass")).status_code == 200
    ctx = load_web_config(str(web)).ssl_context()
    assert ctx is not None and ctx.minimum_version == ssl.TLSVersion.TLSv1_2
