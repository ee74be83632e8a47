"""Pairing completion records with access lines ranks them by a 64-bit hash of (method, uri, client).
Two keys of a batch that share a hash must not pair with each other: the collision is detected and
the batch is paired again on the keys themselves, with the rows an ingest without collisions gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regwatch.ingest import IngestSpec, ingest
from regwatch.ingest.formats import distribution
from regwatch.store import Store, open_store

COLUMNS = "ts, line, client_ip, \"user\", method, route, repository, reference, digest, status, bytes_sent, " \
    "duration_s, user_agent, request_id"  # fmt: skip


def _collide(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make every request of a method share one pairing hash; record what the collision check says."""
    real_statements: Callable[[str], tuple[str, ...]] = distribution.sql_statements
    real_collided = distribution._collided
    seen: list[bool] = []

    def statements(name: str) -> tuple[str, ...]:
        return tuple(s.replace("hash(method, uri, ip)", "hash(method)") for s in real_statements(name))

    def collided(conn: Any) -> bool:
        seen.append(real_collided(conn))
        return seen[-1]

    monkeypatch.setattr(distribution, "sql_statements", statements)
    monkeypatch.setattr(distribution, "_collided", collided)
    return seen


PROBE = b'10.0.0.9 - - [27/Nov/2026:20:52:20 +0000] "GET / HTTP/1.1" 200 0 "" "kube-probe/1.28"\n'


def _grow_and_ingest(db: Path, log: Path, samples: Path) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The real sample with health checks (access lines only) among its requests, grown in steps."""
    lines = (samples / "distribution-json.log").read_bytes().splitlines(keepends=True)
    for at in (60, 40, 20, 5):
        lines.insert(at, PROBE)
    accepted = []
    with open_store(str(db)) as store:
        for cut in (10, 11, 33, 57, len(lines)):  # cuts between completion and access lines
            log.write_bytes(b"".join(lines[:cut]))
            accepted.append(ingest(store, [IngestSpec(path=str(log), format="distribution")])[0].accepted)
        rows = store.fetchall(f"SELECT {COLUMNS} FROM requests ORDER BY ALL")
    return rows, accepted


def test_a_hash_collision_is_paired_again_on_the_keys(
    store: Store, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "reg.log"
    want, want_accepted = _grow_and_ingest(tmp_path / "plain.duckdb", log, samples)
    assert len(want) == 32 and sum(want_accepted) == 32
    seen = _collide(monkeypatch)
    got, got_accepted = _grow_and_ingest(tmp_path / "collide.duckdb", log, samples)
    assert any(seen), "the forced collisions were not detected"
    assert (got, got_accepted) == (want, want_accepted)


def test_many_requests_of_one_key_pair_in_file_order(store: Store, tmp_path: Path) -> None:
    """Three pulls of one manifest by one client, their records interleaved: k-th with k-th."""

    def done(rid: str, sec: int, status: int) -> str:
        return (
            f'{{"http.request.id":"{rid}","http.request.method":"GET","http.request.remoteaddr":"10.1.1.1:5000",'
            f'"http.request.uri":"/v2/a/manifests/v1","http.request.useragent":"ua-{rid}",'
            f'"http.response.duration":"1ms","http.response.status":{status},"http.response.written":{sec},'
            f'"level":"info","msg":"response completed","time":"2026-11-27T21:52:{sec:02d}.001Z"}}\n'
        )

    def access(sec: int, status: int, size: int) -> str:
        return (
            f'10.1.1.1 - - [27/Nov/2026:21:52:{sec:02d} +0000] "GET /v2/a/manifests/v1 HTTP/1.1" {status} {size} '
            '"" "ua"\n'
        )

    log = tmp_path / "k.log"
    # r1 and r2 complete before either access line; r3's access line comes 10 s late (no pair)
    log.write_text(done("r1", 1, 200) + done("r2", 1, 304) + access(1, 200, 11) + access(1, 304, 12)
                   + done("r3", 5, 200) + access(15, 200, 13))  # fmt: skip
    (rep,) = ingest(store, [IngestSpec(path=str(log), format="distribution")])
    assert (rep.accepted, rep.ignored, rep.rejected) == (4, 2, 0)
    assert store.fetchall("SELECT request_id, status, bytes_sent, line FROM requests ORDER BY line") == [
        ("r1", 200, 11, 1), ("r2", 304, 12, 2), ("r3", 200, 5, 5), (None, 200, 13, 6)
    ]  # fmt: skip


def test_one_completion_per_request_id(store: Store, tmp_path: Path) -> None:
    """A request id logged twice keeps one completion: "response completed" over the authorization
    warning, the later line of two equals; the others are neither rows nor pairing partners."""

    def record(rid: str, msg: str, sec: int, extra: str = "") -> str:
        return (
            f'{{"http.request.id":"{rid}","http.request.method":"GET","http.request.remoteaddr":"10.1.1.1:5000",'
            f'"http.request.uri":"/v2/a/manifests/v1","http.request.useragent":"ua",{extra}'
            f'"level":"info","msg":"{msg}","time":"2026-11-27T21:52:{sec:02d}.001Z"}}\n'
        )

    done = '"http.response.duration":"1ms","http.response.status":200,"http.response.written":{n},'
    access = (
        '10.1.1.1 - - [27/Nov/2026:21:52:{s:02d} +0000] "GET /v2/a/manifests/v1 HTTP/1.1" 200 7 "" "ua"\n'
    )
    log = tmp_path / "d.log"
    log.write_text(
        record("r1", "error authorizing context: authorization token required", 1)
        + record("r1", "response completed", 1, done.format(n=5))  # r1: the completion wins
        + access.format(s=1)
        + record("r2", "response completed", 3, done.format(n=6))
        + record("r2", "response completed", 3, done.format(n=8))  # r2: the later one wins
        + access.format(s=3)
    )
    (rep,) = ingest(store, [IngestSpec(path=str(log), format="distribution")])
    assert (rep.accepted, rep.ignored, rep.rejected) == (2, 4, 0)
    assert store.fetchall("SELECT request_id, line, bytes_sent, duration_s FROM requests ORDER BY line") == [
        ("r1", 2, 7, 0.001), ("r2", 5, 7, 0.001)
    ]  # fmt: skip
