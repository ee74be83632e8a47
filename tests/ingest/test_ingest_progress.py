"""The progress bar: drawn on stderr only when it is a terminal (a real pty here), frames exact."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from regwatch.cli import cli
from regwatch.commands.ingest import ProgressBar

LINE = '10.0.0.1 - - [27/Nov/2026:21:52:20 +0100] "GET /v2/a/b/manifests/v1 HTTP/1.1" 200 1 "" "ua"\n'


def test_frames() -> None:
    bar = ProgressBar(io.StringIO(), enabled=True)
    assert bar.frame("/var/log/registry.log", "read", 5_000_000, 20_000_000) == (
        f"{'registry.log':<32} read  [{'#' * 7}{'.' * 23}]      5.0/20.0 MB"  # 25 %: 7 of 30 cells
    )
    assert bar.frame("/var/log/registry.log", "parse", 500, 1000) == (
        f"{'registry.log':<32} parse [{'#' * 15}{'.' * 15}]  50.0%"
    )
    assert bar.frame("-", "read", 1_500_000, 0) == f"{'-':<32} read         1.5 MB"  # stdin: size unknown
    long = "a" * 40 + ".log"
    assert bar.frame(long, "parse", 1000, 1000).startswith(
        "…" + long[-31:] + " parse [" + "#" * 30 + "] 100.0%"
    )


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    assert ProgressBar(io.StringIO()).enabled is False
    (tmp_path / "p.log").write_text(LINE)
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "t.duckdb"), "ingest", str(tmp_path / "p.log")])
    assert res.exit_code == 0
    assert res.stderr == ""


def test_bar_on_a_terminal(tmp_path: Path) -> None:
    n = 20_000
    log = tmp_path / "p.log"
    log.write_text(LINE * n)
    total = n * len(LINE)  # 92 bytes a line: 8 + 5 + 28 + 1 + 35 + 4 + 2 + 3 + 5 + 1 (LF)
    assert total == 1_840_000
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from regwatch.cli import main; main()", "--db", str(tmp_path / "t.duckdb"),
         "ingest", str(log)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    err = b""
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            err += data
        out = proc.communicate(timeout=120)[0].decode()
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert out.splitlines()[1].split()[1:] == ["nginx", "20000", "0", "0"]
    text = err.decode()
    frames = text.split("\r")
    name = f"{'p.log':<32}"
    assert frames[1] == f"{name} read  [{'.' * 30}]      0.0/1.8 MB\x1b[K"
    assert f"{name} read  [{'#' * 30}]      1.8/1.8 MB\x1b[K" in frames
    assert frames[-2] == f"{name} parse [{'#' * 30}] 100.0%\x1b[K"
    assert frames[-1] == "\x1b[2K"  # the bar is cleared when the file is done
    assert frames[0] == ""
