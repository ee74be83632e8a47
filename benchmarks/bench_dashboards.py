"""How long generating the dashboards takes (it runs in `make regen` and CI's staleness test).

Prints figures; never fails on time.  Run: .venv/bin/python benchmarks/bench_dashboards.py
"""

from __future__ import annotations

import time
from pathlib import Path

from regwatch.config import load_config, parse_config
from regwatch.dashboards import generate_dashboards

ROOT = Path(__file__).parents[1]


def _many_slos(n: int) -> str:
    slos = "".join(
        f"  - {{name: slo-{i}, sli: pull_success, source: probes, objective: 0.999, window: 30d}}\n"
        for i in range(n)
    )
    return "registries:\n  - {name: main, regions: [{name: r1, url: http://127.0.0.1:1}]}\nslos:\n" + slos


def main() -> None:
    cfg = load_config(ROOT / "examples" / "regwatch.yaml")
    for label, c in (("example config (3 SLOs)", cfg), ("50 SLOs", parse_config(_many_slos(50), "bench"))):
        runs = 5
        t0 = time.perf_counter()
        for _ in range(runs):
            files = generate_dashboards(c)
        dt = (time.perf_counter() - t0) / runs
        size = sum(len(t) for t in files.values())
        print(f"{label}: {dt * 1000:.1f} ms per generation, {len(files)} files, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
