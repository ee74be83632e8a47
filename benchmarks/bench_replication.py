"""Benchmark the OCI push client against a local registry, next to skopeo pushing the same image.

Prints: push throughput of one 64 MiB layer, monolithic and chunked (5 MiB chunks), with
regwatch's PushClient; ``skopeo copy oci:… docker://…`` of the same image (written with
``write_oci_layout``); and the wall time of one replication probe round (push, one poll that
finds the canary, delete) between two regions served by the same registry. Never fails on time.
Run: .venv/bin/python benchmarks/bench_replication.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from rig import skopeo  # noqa: E402
from rig.registry import start_registry  # noqa: E402

from regwatch.config import parse_config  # noqa: E402
from regwatch.oci import Deadline, PushClient, build_image, write_oci_layout  # noqa: E402
from regwatch.probe import run_round  # noqa: E402

LAYER_BYTES = 64 * 1024 * 1024


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-replication-"))
    reg = start_registry(base / "registry")
    try:
        t = time.monotonic()
        image = build_image([LAYER_BYTES], seed=1)
        print(f"build_image({LAYER_BYTES >> 20} MiB layer): {time.monotonic() - t:.2f}s")
        size = image.layers[0].size
        for i, chunked in enumerate((False, True)):
            deadline = Deadline(300)
            with PushClient(reg.url, f"bench/push{i}", deadline=deadline) as client:
                client.authenticate()
                t = time.monotonic()
                client.push_image(image, "v1", chunked=chunked)
                took = time.monotonic() - t
            deadline.cancel()
            how = "chunked (5 MiB)" if chunked else "monolithic"
            print(f"regwatch push, {how:>15}: {took:.2f}s  {size / took / 1e6:.0f} MB/s")
        layout = write_oci_layout(image, base / "layout", "v1")
        t = time.monotonic()
        skopeo.push(layout, reg, "bench/skopeo", "v1")
        took = time.monotonic() - t
        print(f"skopeo copy oci: -> docker:     {took:.2f}s  {size / took / 1e6:.0f} MB/s")
        cfg = parse_config(
            f"""
registries:
  - name: bench
    regions: [{{name: a, url: "{reg.url}"}}, {{name: b, url: "{reg.url}"}}]
replication:
  - {{registry: bench, from_region: a, auth_path: anonymous, repository: bench/replication,
     poll_interval_seconds: 0.5}}
"""
        )
        times = []
        for _ in range(5):
            t = time.monotonic()
            (result,) = run_round(cfg)
            times.append(time.monotonic() - t)
            assert result.ok, result.error
        print(f"replication round (same registry, lag ~0): median {sorted(times)[2] * 1000:.0f} ms of 5")
    finally:
        reg.close()


if __name__ == "__main__":
    main()
