"""Benchmark the pull probe against a local registry: one canary with a single 200 MB layer.

Prints, from the same run: regwatch's blob throughput (with digest verification) next to
``curl -o /dev/null`` (the transfer limit) and ``curl | sha256sum`` (the same work); regwatch's
peak RSS growth during a whole probe; and the whole-probe time next to ``skopeo copy ... dir:``.
Never fails on time. Needs docker-registry, skopeo and curl. Run: .venv/bin/python benchmarks/bench_probe.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rig import skopeo  # noqa: E402
from rig.oci_layout import write_image_layout  # noqa: E402
from rig.registry import start_registry  # noqa: E402

LAYER_BYTES = 200 * 1024 * 1024
RUNS = 3

# Runs in a fresh interpreter so that peak RSS reflects only regwatch's own pull.
CHILD = r"""
import json, os, sys, threading, time
from regwatch.config import parse_config
from regwatch.oci import Deadline, RegistryClient
from regwatch.oci.client import Descriptor
from regwatch.oci.digest import parse_digest
from regwatch.probe.pull import PullTarget, probe_pull
url, repo, digest, size, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
cfg = parse_config(f'''
registries:
  - name: bench
    regions: [{{name: local, url: "{url}"}}]
    canaries: [{{repository: {repo}, reference: v1}}]
probe: {{timeout_seconds: 120}}
''')
reg = cfg.registries[0]
target = PullTarget(reg.name, reg.regions[0], reg.auth_paths[0], reg.canaries[0])
def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
base = rss()  # after imports, before any pull
peak = [base]
stop = threading.Event()
def sample() -> None:
    while not stop.wait(0.005):
        peak[0] = max(peak[0], rss())
threading.Thread(target=sample, daemon=True).start()
probe_pull(target, cfg.probe)  # warm code paths, not timed
blob_times = []
for _ in range(runs):
    with RegistryClient(url, repo, deadline=Deadline(120)) as client:
        client.authenticate()
        t = time.perf_counter()
        client.fetch_blob(Descriptor("", parse_digest(digest), size), "layer")
        blob_times.append(time.perf_counter() - t)
probe_times = []
for _ in range(runs):
    r = probe_pull(target, cfg.probe)
    assert r.ok, r.error
    probe_times.append(r.duration_seconds)
stop.set()
print(json.dumps({"blob": blob_times, "probe": probe_times, "rss_growth_bytes": peak[0] - base}))
"""


def timed(cmd: str, runs: int = RUNS) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    for tool in ("curl", "skopeo", "sha256sum"):
        if not shutil.which(tool):
            sys.exit(f"bench_probe: {tool} is not installed")
    work = Path(tempfile.mkdtemp(prefix="regwatch-bench-"))
    reg = None
    try:
        t = time.perf_counter()
        info = write_image_layout(work / "layout", [LAYER_BYTES], seed=7)
        reg = start_registry(work / "registry", "anonymous")
        skopeo.push(info.layout_dir, reg, "bench/big", "v1")
        print(
            f"setup: {LAYER_BYTES / 2**20:.0f} MiB layer written and pushed in {time.perf_counter() - t:.1f}s"
        )
        print(
            f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (figures are noisy when high)"
        )
        layer = info.layer_digests[0]
        size = info.layer_sizes[0]
        blob_url = f"{reg.url}/v2/bench/big/blobs/{layer}"

        curl = timed(f"curl -sf -o /dev/null {blob_url}")
        curl_sha = timed(f"curl -sf {blob_url} | sha256sum")
        sk_dirs = [work / f"skopeo-{i}" for i in range(RUNS)]
        sk = []
        for d in sk_dirs:
            t = time.perf_counter()
            skopeo.pull(reg, "bench/big", "v1", d)
            sk.append(time.perf_counter() - t)
            shutil.rmtree(d)
        child = subprocess.run(
            [sys.executable, "-c", CHILD, reg.url, "bench/big", layer, str(size), str(RUNS)],
            check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        rw = json.loads(child.stdout)

        def rate(seconds: list[float]) -> str:
            return f"{size / min(seconds) / 1e9:.2f} GB/s"

        print(f"blob {size} bytes, best of {RUNS} (times in seconds):")
        print(f"  curl -o /dev/null        {min(curl):.3f}  {rate(curl)}   (no hashing: the transfer limit)")
        print(f"  curl | sha256sum         {min(curl_sha):.3f}  {rate(curl_sha)}")
        print(
            f"  regwatch fetch_blob      {min(rw['blob']):.3f}  {rate(rw['blob'])}   (sha256 verified, size checked)"
        )
        print(f"  regwatch / curl rate     {min(curl) / min(rw['blob']):.0%}")
        print(f"whole pull (manifest, config, layer), best of {RUNS}:")
        print(f"  skopeo copy docker:// dir:   {min(sk):.3f}")
        print(f"  regwatch probe               {min(rw['probe']):.3f}")
        print(
            f"regwatch peak RSS growth over {RUNS * 2 + 1} pulls: {rw['rss_growth_bytes'] / 2**20:.1f} MiB (RSS sampled every 5 ms)"
        )
    finally:
        if reg is not None:
            reg.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
