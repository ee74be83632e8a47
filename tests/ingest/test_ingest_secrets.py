"""Secrets: the real docker-registry prints its notification endpoints' headers (Authorization
included) in clear text at start-up. Whatever happens to that line -- ignored whole, rejected when
truncated, corrupted or over-long -- the credential must not reach the store. The samples hold none."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from rig.net import free_port
from rig.registry import ROBOT_PASSWORD, start_registry

from regwatch.ingest import IngestSpec, ingest
from regwatch.store import open_store

SECRET = "rw-test-credential-5f0c9a7e"


def _columns_holding(db: str, needle: str) -> list[str]:
    """Every (table.column) of the store whose text holds ``needle``."""
    found = []
    with duckdb.connect(db, read_only=True) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in cols:
            n = conn.execute(
                f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [needle]
            ).fetchone()
            if n and n[0]:
                found.append(f"{table}.{column}")
    return found


@pytest.mark.parametrize("formatter", ["json", "text"])
def test_startup_headers_never_reach_the_store(tmp_path: Path, formatter: str) -> None:
    reg = start_registry(
        tmp_path / "reg", "anonymous", log_formatter=formatter,
        notifications_url=f"http://127.0.0.1:{free_port()}/",
        notifications_headers={"Authorization": f"Bearer {SECRET}"},
    )  # fmt: skip
    try:
        status, _, _ = reg.request("GET", "/v2/")
        assert status == 200
    finally:
        reg.close()
    lines = reg.log_path.read_bytes().splitlines(keepends=True)
    startup = [i for i, ln in enumerate(lines) if SECRET.encode() in ln]
    assert len(startup) == 1  # the premise: the real server prints it
    i = startup[0]
    assert b"headers=map[Authorization:[Bearer " + SECRET.encode() + b"]]" in lines[i]
    cut = lines[i][: lines[i].index(SECRET.encode()) + len(SECRET) - 3]  # truncated inside the credential
    variants = {
        "as-printed.log": lines,
        "truncated.log": [*lines[:i], cut + b"\n", *lines[i + 1 :]],
        "binary.log": [*lines[:i], b"\x00" + lines[i], *lines[i + 1 :]],
        "too-long.log": [*lines[:i], lines[i][:-1] + b" " * 70_000 + b"\n", *lines[i + 1 :]],
    }
    db = str(tmp_path / "s.duckdb")
    with open_store(db) as s:
        for name, content in variants.items():
            (tmp_path / name).write_bytes(b"".join(content))
            (rep,) = ingest(s, [IngestSpec(path=str(tmp_path / name), format="distribution")])
            assert rep.accepted == 2, name  # the rig's readiness GET /v2/ and ours
        rejects = s.fetchall("SELECT source, reason, raw FROM ingest_rejects ORDER BY source")
    # the truncated JSON line is a reject (a truncated logfmt line is still a well-formed line: ignored)
    want = [("binary.log", "binary"), ("too-long.log", "too_long")]
    if formatter == "json":
        want.append(("truncated.log", "truncated"))
    assert [(Path(r[0]).name, r[1]) for r in rejects] == sorted(want)
    for _, _, raw in rejects:
        assert "headers=map[<redacted>]" in raw
    assert _columns_holding(db, SECRET[:12]) == []
    assert SECRET.encode() not in Path(db).read_bytes()


def test_samples_hold_no_secret(samples: Path) -> None:
    for f in sorted(samples.iterdir()):
        if not f.is_file():
            continue
        text = f.read_text(encoding="utf-8")
        assert ROBOT_PASSWORD not in text, f.name
        assert not re.search(r"(?i)authorization:\s*\[?\s*(basic|bearer)\s", text), f.name
        assert not re.search(r"headers=map\[[^\]]", text), f.name  # endpoints printed without headers
        assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), f.name  # no user:password@ URLs
