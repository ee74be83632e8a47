"""Start a real nginx (nginx-light) on 127.0.0.1 in front of a rig registry: proxy and proxy_cache."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rig.net import free_port, wait_for_port

LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
    '"$http_user_agent" $request_time $upstream_cache_status $request_id'
)
JSON_FORMAT = (
    'escape=json \'{"time":"$time_iso8601","remote_addr":"$remote_addr","request":"$request",'
    '"status":"$status","bytes":"$body_bytes_sent","request_time":"$request_time",'
    '"cache":"$upstream_cache_status","agent":"$http_user_agent","id":"$request_id"}\''
)


@dataclass
class Nginx:
    url: str
    port: int
    access_log: Path
    json_log: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_nginx(base: Path, upstream_port: int) -> Nginx:
    """nginx proxying everything to the registry and caching blobs (so $upstream_cache_status is set)."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    base.mkdir(parents=True, exist_ok=True)
    (base / "cache").mkdir(exist_ok=True)
    port = free_port()
    access, jlog = base / "access.log", base / "access.json.log"
    conf = base / "nginx.conf"
    conf.write_text(f"""
daemon off;
{"user root root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    log_format regwatch '{LOG_FORMAT}';
    log_format regwatch_json {JSON_FORMAT};
    proxy_cache_path {base}/cache levels=1:2 keys_zone=blobs:1m max_size=64m inactive=1h;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        access_log {access} regwatch;
        access_log {jlog} regwatch_json;
        location ~ ^/v2/.*/blobs/sha256: {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_set_header Host $http_host;
            proxy_cache blobs;
            proxy_cache_valid 200 1h;
            proxy_cache_key $uri;
        }}
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
        }}
    }}
}}
""")
    proc = subprocess.Popen([exe, "-c", str(conf), "-p", str(base)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port, timeout=10)
    except Exception:
        proc.kill()
        raise
    return Nginx(f"http://127.0.0.1:{port}", port, access, jlog, proc)
