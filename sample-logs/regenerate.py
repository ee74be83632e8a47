"""Regenerate the samples in this directory from the real docker-registry and nginx (the test rig).

    .venv/bin/python sample-logs/regenerate.py            # rewrite the samples here
    .venv/bin/python sample-logs/regenerate.py /tmp/new   # write them elsewhere (to compare)

See README.md for what each sample holds. Timestamps, ports, ids and digests change on every run;
the counts the tests assert (tests/ingest) do not.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "tests" / "ingest"))

from nginx_proxy import start_nginx  # noqa: E402
from rig import skopeo  # noqa: E402
from rig.oci_layout import write_canary_layout  # noqa: E402
from rig.registry import start_registry  # noqa: E402


def _curl(*args: str) -> None:
    subprocess.run(["curl", "-s", "-o", "/dev/null", *args], check=False)


def main(out: Path = HERE) -> None:
    out.mkdir(parents=True, exist_ok=True)
    events: list[bytes] = []

    class Sink(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            events.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        img = write_canary_layout(Path(tmp) / "layout")
        for fmt in ("json", "text"):
            reg = start_registry(Path(tmp) / f"reg-{fmt}", "htpasswd", log_formatter=fmt,
                                 notifications_url=f"http://127.0.0.1:{sink.server_port}/")  # fmt: skip
            skopeo.push(img.layout_dir, reg, "platform/canary", "v1")
            skopeo.pull(reg, "platform/canary", "v1", Path(tmp) / f"pull-{fmt}")
            for creds, tag in ((("robot", "wrong"), "v1"), (None, "missing")):
                with contextlib.suppress(skopeo.SkopeoError):  # refused: wrong password; missing tag
                    skopeo.pull(reg, "platform/canary", tag, Path(tmp) / f"x-{fmt}-{tag}", creds=creds)
            _curl("-u", f"{reg.username}:{reg.password}", f"{reg.url}/v2/platform/canary/tags/list")
            _curl(f"{reg.url}/v2/_catalog")
            reg.close()
            (out / f"distribution-{fmt}.log").write_bytes(reg.log_path.read_bytes())
        compact = [json.dumps(json.loads(e), separators=(",", ":")) for e in events]
        (out / "notifications.jsonl").write_text("\n".join(compact) + "\n")

        reg = start_registry(Path(tmp) / "reg-behind-nginx", "anonymous")
        skopeo.push(img.layout_dir, reg, "platform/canary", "v1")
        ngx = start_nginx(Path(tmp) / "nginx", reg.port)
        try:
            for digest in img.layer_digests:
                for _ in range(2):  # MISS then HIT
                    _curl("-A", "curl/sample", f"{ngx.url}/v2/platform/canary/blobs/{digest}")
            _curl("-A", "curl/sample", f"{ngx.url}/v2/")
            _curl(
                "-A",
                "curl/sample",
                "-H",
                "Accept: application/vnd.oci.image.manifest.v1+json",
                f"{ngx.url}/v2/platform/canary/manifests/v1",
            )
            _curl("-A", "curl/sample", f"{ngx.url}/v2/platform/canary/manifests/missing")
        finally:
            ngx.stop()
            reg.close()
        (out / "nginx-access.log").write_bytes(ngx.access_log.read_bytes())
        (out / "nginx-access.json.log").write_bytes(ngx.json_log.read_bytes())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
