"""serve on an IPv6 loopback listener with mutual TLS (web config ``client_auth_type:
RequireAndVerifyClientCert``): a client certificate from the configured CA gets the metrics; no
certificate, or one from another CA, gets no HTTP answer at all."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from rig.net import free_port
from rig.tlsca import CertAuthority
from servekit import start_serve


def test_mutual_tls_on_ipv6_loopback(tmp_path: Path) -> None:
    ca = CertAuthority.create(tmp_path / "ca")
    cert, key = ca.issue_server_cert(tmp_path / "tls", ["::1"])
    client = ca.issue_server_cert(tmp_path / "client", ["prometheus.invalid"], name="client")
    stranger = CertAuthority.create(tmp_path / "other-ca", "another CA").issue_server_cert(
        tmp_path / "stranger", ["prometheus.invalid"], name="stranger"
    )
    web = {"tls_server_config": {"cert_file": str(cert), "key_file": str(key), "client_ca_file": str(ca.ca_file),
                                 "client_auth_type": "RequireAndVerifyClientCert"}}  # fmt: skip
    port = free_port("::1")
    with start_serve(tmp_path / "serve", {}, listen=f"[::1]:{port}", web_config=web, ca_file=ca.ca_file,
                     cert=client) as serve:  # fmt: skip
        assert serve.url == f"https://[::1]:{port}"
        got = serve.get("/metrics")
        assert got.status_code == 200
        assert "regwatch_build_info" in got.text
        for cert_pair in (None, (str(stranger[0]), str(stranger[1]))):
            with pytest.raises(requests.exceptions.ConnectionError):  # SSLError is one: the handshake fails
                serve.get("/metrics", cert=cert_pair)
        assert serve.get("/healthz").status_code == 200  # refused clients did not hurt the listener
        assert serve.stop() == 0
    assert f"metrics at https://[::1]:{port}/metrics" in serve.log_text()
