"""Ingest: exact counts on the real samples and on hand-built fixtures; formats, detection, idempotence,
growth, rotation, gz, stdin, bad input, time zones, Go durations, the CLI and the config's logs: entries.

Crash safety, follow and the progress bar have files of their own.
"""

from __future__ import annotations

import glob
import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from nginx_proxy import JSON_FORMAT, LOG_FORMAT

from regwatch.cli import cli
from regwatch.errors import IngestError
from regwatch.ingest import IngestSpec, feed, ingest
from regwatch.ingest.formats import sql_statements
from regwatch.ingest.notifications import store_envelope
from regwatch.store import Store, open_store

ACCESS = '10.0.0.{i} - - [27/Nov/2026:21:52:20 +0100] "GET /v2/a/b/manifests/v{i} HTTP/1.1" 200 {i} "" "ua"\n'


def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return store.fetchall(sql)


# -- the real samples (produced by docker-registry and nginx through the rig: sample-logs/README.md) ----


@pytest.mark.parametrize("name", ["distribution-json.log", "distribution-text.log"])
def test_real_registry_samples_exact(store: Store, samples: Path, name: str) -> None:
    (rep,) = ingest(store, [IngestSpec(path=str(samples / name))])
    # 81 lines: 28 access lines, one row each (merged with the request's "response completed" record,
    # 21 of them, or its "error authorizing context" warning, 7: 5 x GET /v2/, the catalog and the
    # wrong-password manifest GET). Ignored: those 28 merged records + 21 "authorized request" + 3
    # start-up lines + 1 "error authenticating user" = 53.
    assert (rep.format, rep.accepted, rep.ignored, rep.rejected) == ("distribution", 28, 53, 0)
    got = _rows(
        store,
        "SELECT route, status, count(*), count(duration_s), count(request_id) FROM requests "
        "GROUP BY ALL ORDER BY ALL",
    )
    assert got == [
        ("blob", 200, 3, 3, 3), ("blob", 404, 5, 5, 5), ("blob_upload", 201, 3, 3, 3),
        ("blob_upload", 202, 6, 6, 6), ("catalog", 401, 1, 0, 1), ("manifest", 200, 1, 1, 1),
        ("manifest", 201, 1, 1, 1), ("manifest", 401, 1, 0, 1), ("manifest", 404, 1, 1, 1),
        ("ping", 401, 5, 0, 5), ("tags", 200, 1, 1, 1),
    ]  # fmt: skip
    assert _rows(store, "SELECT count(*) FROM requests WHERE \"user\" = 'robot'") == [(6,)]
    assert _rows(store, "SELECT DISTINCT registry, region, source FROM requests") == [
        ("default", "default", str(samples / name))
    ]
    assert _rows(store, "SELECT count(*) FROM ingest_rejects") == [(0,)]
    # idempotent: the same file again adds nothing
    (again,) = ingest(store, [IngestSpec(path=str(samples / name))])
    assert (again.accepted, again.ignored, again.rejected, again.reset) == (0, 0, 0, False)
    assert _rows(store, "SELECT count(*) FROM requests") == [(28,)]
    assert _rows(store, 'SELECT "offset", lines, accepted, ignored, rejected FROM ingest_files') == [
        ((samples / name).stat().st_size, 81, 28, 53, 0)
    ]


def test_one_request_merged_from_both_line_kinds(store: Store, samples: Path) -> None:
    ingest(store, [IngestSpec(path=str(samples / "distribution-json.log"), registry="main", region="eu")])
    # lines 8-10: "authorized request", "response completed with error" (404, 14.88199ms), access line
    got = store.fetch_dicts(
        "SELECT * FROM requests WHERE request_id = '12c40ccb-bbce-4309-af6a-41f7b8f0b5f6'"
    )
    assert got == [
        {
            "ts": datetime(2026, 11, 27, 21, 6, 9, 405479),  # completed 21:06:09.420361749 - 14.88199 ms
            "registry": "main", "region": "eu", "source": str(samples / "distribution-json.log"),
            "line": 9, "client_ip": "127.0.0.1", "user": "robot", "method": "HEAD", "route": "blob",
            "repository": "platform/canary",
            "reference": "sha256:ddcea98eb33ef0cc5b5c6a0cc7c1735097768521c201a53c8c20f461930165fa",
            "digest": "sha256:ddcea98eb33ef0cc5b5c6a0cc7c1735097768521c201a53c8c20f461930165fa",
            "status": 404, "bytes_sent": 157, "duration_s": 0.01488199, "user_agent": "skopeo/1.9.3",
            "request_id": "12c40ccb-bbce-4309-af6a-41f7b8f0b5f6", "cache_status": None,
        }
    ]  # fmt: skip


def test_line_is_the_requests_completion_record(store: Store, samples: Path) -> None:
    ingest(store, [IngestSpec(path=str(samples / "distribution-json.log"))])
    # line 8 is the request's "authorized request" record, line 9 its "response completed" record
    # (where every field is), line 10 its access line: the row points at the completion record
    got = _rows(store, "SELECT line FROM requests WHERE request_id = '12c40ccb-bbce-4309-af6a-41f7b8f0b5f6'")
    assert got == [(9,)]


def test_refused_authentication_has_no_completion_record(store: Store, samples: Path) -> None:
    ingest(store, [IngestSpec(path=str(samples / "distribution-text.log"))])
    # lines 4-5: the "error authorizing context" warning and the access line of an anonymous GET /v2/
    got = _rows(
        store,
        'SELECT line, method, route, status, bytes_sent, duration_s, user_agent, "user" FROM requests '
        "ORDER BY line LIMIT 1",
    )
    assert got == [(4, "GET", "ping", 401, 87, None, None, None)]


def test_nginx_samples(store: Store, samples: Path) -> None:
    (a,) = ingest(store, [IngestSpec(path=str(samples / "nginx-access.log"), log_format=LOG_FORMAT)])
    (b,) = ingest(store, [IngestSpec(path=str(samples / "nginx-access.json.log"), log_format=JSON_FORMAT)])
    assert (a.format, a.accepted, a.ignored, a.rejected) == ("nginx", 7, 0, 0)
    assert (b.format, b.accepted, b.ignored, b.rejected) == ("nginx", 7, 0, 0)
    got = _rows(store, "SELECT route, status, cache_status, count(*) FROM requests GROUP BY ALL ORDER BY ALL")
    # 2 layers fetched twice each through the cache (MISS then HIT) = 4 blob rows per file
    assert got == [("blob", 200, "HIT", 4), ("blob", 200, "MISS", 4), ("manifest", 200, None, 2),
                   ("manifest", 404, None, 2), ("ping", 200, None, 2)]  # fmt: skip
    # both files describe the same 7 requests: same request ids, statuses and durations
    assert _rows(
        store,
        "SELECT count(*) FROM (SELECT request_id, status, duration_s FROM requests "
        "GROUP BY ALL HAVING count(DISTINCT source) = 2)",
    ) == [(7,)]
    (again,) = ingest(store, [IngestSpec(path=str(samples / "nginx-access.log"), log_format=LOG_FORMAT)])
    assert again.accepted == 0


def test_notifications_file_and_envelope(store: Store, samples: Path) -> None:
    (rep,) = ingest(store, [IngestSpec(path=str(samples / "notifications.jsonl"))])
    # 16 envelopes of one event each: 2 registries (json, text) x (push + pull) x (3 blobs + 1 manifest)
    assert (rep.format, rep.accepted, rep.ignored, rep.rejected) == ("notifications", 16, 0, 0)
    assert _rows(store, "SELECT action, count(*) FROM audit_events GROUP BY ALL ORDER BY ALL") == [
        ("pull", 8),
        ("push", 8),
    ]
    body = (samples / "notifications.jsonl").read_bytes().splitlines()[0]
    assert store_envelope(store, body) == 0  # already stored
    new = (
        b'{"events":[{"id":"e-1","timestamp":"2026-11-27T22:00:00+01:00","action":"pull",'
        b'"target":{"repository":"a/b","digest":"sha256:aa","tag":"v1","size":5}}]}'
    )
    assert store_envelope(store, new, registry="r1", region="eu") == 1
    assert _rows(
        store, "SELECT ts, registry, region, repository, size FROM audit_events WHERE event_id='e-1'"
    ) == [(datetime(2026, 11, 27, 21, 0), "r1", "eu", "a/b", 5)]
    with pytest.raises(IngestError):
        store_envelope(store, b"{not json")
    (again,) = ingest(store, [IngestSpec(path=str(samples / "notifications.jsonl"))])
    assert again.accepted == 0
    assert _rows(store, "SELECT count(*) FROM audit_events") == [(17,)]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("distribution-json.log", "distribution"),
        ("distribution-text.log", "distribution"),
        ("nginx-access.log", "nginx"),
        ("nginx-access.json.log", "nginx"),
        ("notifications.jsonl", "notifications"),
    ],
)
def test_auto_detection(store: Store, samples: Path, name: str, fmt: str) -> None:
    (rep,) = ingest(store, [IngestSpec(path=str(samples / name))])
    assert (rep.format, rep.error) == (fmt, None)


def test_undetectable_file_is_an_error_that_names_it(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "what.log"
    f.write_text("hello\nworld\n")
    (rep,) = ingest(store, [IngestSpec(path=str(f))])
    assert rep.error == f"{f}: cannot tell the log format from its first lines; pass --format"
    (rep,) = ingest(store, [IngestSpec(path=str(f), format="distribution")])
    assert (rep.accepted, rep.ignored, rep.rejected) == (0, 2, 0)


# -- growth, rotation, gz, stdin ---------------------------------------------------------------------


def test_growth_partial_line_rotation_gz_stdin(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "r.log"
    log.write_text(ACCESS.format(i=1) + ACCESS.format(i=2) + ACCESS.format(i=3)[:30])
    spec = IngestSpec(path=str(log), format="distribution")
    assert ingest(store, [spec])[0].accepted == 2  # the partial last line waits for its end
    with open(log, "a") as fh:
        fh.write(ACCESS.format(i=3)[30:] + ACCESS.format(i=4))
    (grown,) = ingest(store, [spec])
    assert (grown.accepted, grown.reset) == (2, False)  # only the new lines
    assert _rows(store, "SELECT list(line ORDER BY line), min(ts) FROM requests") == [
        ([1, 2, 3, 4], datetime(2026, 11, 27, 20, 52, 20))  # +0100 -> UTC
    ]
    log.write_text(ACCESS.format(i=7))  # rotated: a new head
    (rep,) = ingest(store, [spec])
    assert (rep.reset, rep.accepted) == (True, 1)
    log.write_text("")  # truncated (copytruncate): the reset is recorded although there is nothing to read
    (rep,) = ingest(store, [spec])
    assert (rep.reset, rep.accepted, rep.error) == (True, 0, None)
    log.write_text(ACCESS.format(i=7) + ACCESS.format(i=8))  # the same head as before the truncation
    (rep,) = ingest(store, [spec])
    assert (rep.reset, rep.accepted) == (False, 2)  # read from the start all the same
    assert _rows(store, "SELECT count(*) FROM requests") == [(7,)]

    gz = tmp_path / "old.log.gz"
    gz.write_bytes(gzip.compress((ACCESS.format(i=8) + ACCESS.format(i=9)).encode()))
    (z,) = ingest(store, [IngestSpec(path=str(gz))])
    assert (z.format, z.accepted) == ("nginx", 2)  # detected through the compression: combined lines
    assert ingest(store, [IngestSpec(path=str(gz))])[0].accepted == 0
    res = CliRunner().invoke(
        cli, ["--db", store.path + "2", "ingest", "--json", "-"], input=ACCESS.format(i=5)
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["files"] == [
        {"source": "-", "format": "nginx", "accepted": 1, "ignored": 0, "rejected": 0, "reset": False,
         "error": None, "reject_reasons": {}}
    ]  # fmt: skip


def test_glob_expands_sorted_and_empty_glob_is_an_error(store: Store, tmp_path: Path) -> None:
    for i in (2, 1):
        (tmp_path / f"a{i}.log").write_text(ACCESS.format(i=i))
    reps = ingest(store, [IngestSpec(path=str(tmp_path / "a*.log"))])
    assert [(Path(r.source).name, r.accepted) for r in reps] == [("a1.log", 1), ("a2.log", 1)]
    (none,) = ingest(store, [IngestSpec(path=str(tmp_path / "zz*.log"))])
    assert none.error == f"{tmp_path / 'zz*.log'}: no file matches"


def test_a_path_with_glob_characters_is_read_as_it_is(store: Store, tmp_path: Path) -> None:
    """The file is handed to DuckDB as a pipe (or a clean copy), never by its own name, which DuckDB's
    reader would take for a pattern."""
    (tmp_path / "reg1.log").write_text(ACCESS.format(i=9))  # what reg[1].log would match as a pattern
    log = tmp_path / "reg[1]*.log"
    log.write_text(ACCESS.format(i=1) + ACCESS.format(i=2))
    (rep,) = ingest(store, [IngestSpec(path=glob.escape(str(log)))])
    assert (rep.source, rep.accepted, rep.error) == (str(log), 2, None)
    assert _rows(store, "SELECT list(client_ip ORDER BY line) FROM requests") == [(["10.0.0.1", "10.0.0.2"],)]


# -- bad input -----------------------------------------------------------------------------------------


def test_bad_input_kinds(tmp_path: Path) -> None:
    lines = [
        ACCESS.format(i=1).encode(),  # 1 accepted
        b'{"msg":"response completed","time":"2026-11-27T20:52:20Z","http.request.method":"GET"\n',  # 2
        b'{"msg":"response completed", bad json}\n',  # 3 malformed
        b"\x00\x01\x02 binary\n",  # 4
        b"bad \xff\xfe utf8\n",  # 5
        b"y" * (64 * 1024 + 1) + b"\n",  # 6 over 64 KiB
        b"x" * (64 * 1024) + b"\n",  # 7 exactly 64 KiB: not rejected (ignored: not a request)
        b"Some start-up line\n",  # 8 ignored
    ]
    (tmp_path / "bad.log").write_bytes(b"".join(lines))
    db = str(tmp_path / "t.duckdb")
    res = CliRunner().invoke(cli, ["--db", db, "ingest", "--json", "--format", "distribution",
                                   str(tmp_path / "bad.log")])  # fmt: skip
    assert res.exit_code == 0, res.output  # bad lines never fail an ingest
    assert json.loads(res.output)["files"] == [
        {"source": str(tmp_path / "bad.log"), "format": "distribution", "accepted": 1, "ignored": 2,
         "rejected": 5, "reset": False, "error": None,
         "reject_reasons": {"binary": 1, "invalid_utf8": 1, "malformed": 1, "too_long": 1, "truncated": 1}}
    ]  # fmt: skip
    with duckdb.connect(db, read_only=True) as conn:
        got = conn.execute(
            "SELECT line, reason, length(raw), raw FROM ingest_rejects ORDER BY line"
        ).fetchall()
    # raw lengths by hand: line 2 is 85 characters ({ "msg" : "response completed" , "time" :
    # "2026-11-27T20:52:20Z" , "http.request.method" : "GET" = 1+5+1+20+1+6+1+22+1+21+1+5), line 3 is
    # 38 (1+5+1+20+1+9+1), line 4 is 10 (3 control bytes, " binary"), line 5 is 11 (each invalid byte
    # is one U+FFFD), line 6 is cut to 4096 bytes.
    assert [g[:3] for g in got] == [(2, "truncated", 85), (3, "malformed", 38), (4, "binary", 10),
                                    (5, "invalid_utf8", 11), (6, "too_long", 4096)]  # fmt: skip
    assert got[2][3] == "\x00\x01\x02 binary"
    assert got[3][3] == "bad \ufffd\ufffd utf8"
    assert got[4][3] == "y" * 4096


def test_invalid_utf8_alone_is_found_by_the_scan_in_place(store: Store, tmp_path: Path) -> None:
    """No control byte, no long line: the file is scanned where it lies, DuckDB refuses the bad byte,
    and the batch is done again from a clean copy that records the line."""
    log = tmp_path / "u.log"
    log.write_bytes(ACCESS.format(i=1).encode() + "bad \xff utf8 µs\n".encode("latin-1") + ACCESS.format(i=2).encode()
                    + "ok µs €\n".encode())  # fmt: skip
    (rep,) = ingest(store, [IngestSpec(path=str(log), format="distribution")])
    assert (rep.accepted, rep.ignored, rep.rejected, rep.reject_reasons) == (2, 1, 1, {"invalid_utf8": 1})
    assert _rows(store, "SELECT line, reason FROM ingest_rejects") == [(2, "invalid_utf8")]
    assert _rows(store, "SELECT line FROM requests ORDER BY line") == [(1,), (3,)]


def test_cli_table_output_and_missing_file_exit_1(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(ACCESS.format(i=1) + "start-up line\n")
    missing = tmp_path / "nope.log"
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.duckdb"), "ingest", "--format", "distribution",
                                   str(log), str(missing)])  # fmt: skip
    assert res.exit_code == 1
    w = len(str(missing))
    assert res.stdout == (
        f"{'SOURCE':<{w}}  FORMAT        ACCEPTED  IGNORED  REJECTED  NOTE\n"
        f"{str(log):<{w}}  distribution  1         1        0\n"
        f"{str(missing):<{w}}  -             0         0        0         {missing}: no such file\n"
    )
    assert res.stderr == f"regwatch: error: {missing}: no such file\n"


def test_config_logs_entries_drive_ingest(tmp_path: Path, samples: Path) -> None:
    cfg = tmp_path / "regwatch.yaml"
    cfg.write_text(
        "logs:\n"
        f"  - {{path: '{samples / 'nginx-access.log'}', registry: edge, region: eu, "
        f"log_format: '{LOG_FORMAT}'}}\n"
        f"  - {{path: '{samples / 'distribution-*.log'}', registry: main, region: us}}\n"
    )
    res = CliRunner().invoke(
        cli, ["--config", str(cfg), "--db", str(tmp_path / "x.duckdb"), "ingest", "--json"]
    )
    assert res.exit_code == 0, res.output
    got = [(Path(f["source"]).name, f["format"], f["accepted"]) for f in json.loads(res.output)["files"]]
    assert got == [("nginx-access.log", "nginx", 7), ("distribution-json.log", "distribution", 28),
                   ("distribution-text.log", "distribution", 28)]  # fmt: skip
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT registry, region, count(*) FROM requests GROUP BY ALL ORDER BY ALL").fetchall() \
            == [("edge", "eu", 7), ("main", "us", 56)]  # fmt: skip
    empty = tmp_path / "empty.yaml"
    empty.write_text("logs: []\n")
    res = CliRunner().invoke(cli, ["--config", str(empty), "--db", str(tmp_path / "x.duckdb"), "ingest"])
    assert res.exit_code == 2
    assert "ingest: no PATH given and the config has no logs: entries" in res.output


def test_merge_across_batches(store: Store, tmp_path: Path, samples: Path) -> None:
    lines = (samples / "distribution-json.log").read_bytes().splitlines(keepends=True)
    log = tmp_path / "split.log"
    total = 0
    for cut in (10, 11, 33, 57, len(lines)):  # cuts between completion and access lines
        log.write_bytes(b"".join(lines[:cut]))
        total += ingest(store, [IngestSpec(path=str(log))])[0].accepted
    assert total == 28
    assert _rows(store, "SELECT count(*), count(duration_s), count(DISTINCT request_id) FROM requests") == [
        (28, 21, 28)
    ]


def test_fed_in_parts_and_copied_give_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    samples: Path) -> None:  # fmt: skip
    """A plain file is fed to DuckDB from where it lies, in parts side by side (from its start, and a grown
    file from its offset); the clean copy reads the same lines: both give exactly the same rows."""
    lines = (samples / "distribution-json.log").read_bytes().splitlines(keepends=True)
    monkeypatch.setattr(feed, "PART_MIN_BYTES", 1024)  # so that a batch is cut into three parts
    results = []
    for fed in (True, False):
        monkeypatch.setattr(feed, "available", lambda fed=fed: fed)
        log = tmp_path / f"{fed}.log"
        with open_store(str(tmp_path / f"{fed}.duckdb")) as st:
            st.execute("SET threads = 3")
            for cut in (33, 57, len(lines)):  # the growth cuts requests apart too
                log.write_bytes(b"".join(lines[:cut]))
                ingest(st, [IngestSpec(path=str(log))])
            results.append(st.fetchall(
                "SELECT * EXCLUDE (source) FROM requests ORDER BY line"
            ))  # fmt: skip
    assert len(results[0]) == 28
    assert results[0] == results[1]


# -- time zones ----------------------------------------------------------------------------------------


def test_timestamps_honour_offsets_and_are_stored_in_utc(store: Store, tmp_path: Path) -> None:
    dist = tmp_path / "tz.log"
    dist.write_text(
        '{"http.request.id":"r1","http.request.method":"GET","http.request.remoteaddr":"10.1.1.1:5000",'
        '"http.request.uri":"/v2/a/b/manifests/v1","http.request.useragent":"ua","http.response.duration":"1.5s",'
        '"http.response.status":200,"http.response.written":10,"level":"info","msg":"response completed",'
        '"time":"2026-11-27T23:52:21.5+02:00"}\n'
        '10.1.1.1 - - [27/Nov/2026:16:52:20 -0500] "GET /v2/a/b/manifests/v1 HTTP/1.1" 200 10 "" "ua"\n'
        'time="2026-11-27T16:52:25.25-05:00" level=info msg="response completed" http.request.id=r2 '
        'http.request.method=GET http.request.remoteaddr="10.1.1.2:6000" http.request.uri=/v2/a/b/blobs/sha256:ab '
        "http.response.duration=250ms http.response.status=200 http.response.written=7\n"
    )
    (rep,) = ingest(store, [IngestSpec(path=str(dist), format="distribution")])
    # 3 lines, 2 requests: r1's completion record is merged into its access line's row (ignored)
    assert (rep.accepted, rep.ignored, rep.rejected) == (2, 1, 0)
    # r1: ends 21:52:21.5 UTC after 1.5 s -> started 21:52:20, as its access line (16:52:20 -0500) says
    # r2: ends 21:52:25.25 UTC after 250 ms -> started 21:52:25; no access line, bytes from "written"
    assert _rows(store, "SELECT request_id, ts, duration_s, bytes_sent, route FROM requests ORDER BY ts") == [
        ("r1", datetime(2026, 11, 27, 21, 52, 20), 1.5, 10, "manifest"),
        ("r2", datetime(2026, 11, 27, 21, 52, 25), 0.25, 7, "blob"),
    ]
    iso = tmp_path / "iso.log"
    iso.write_text('10.2.2.2 [2026-11-27T22:52:20+01:00] "GET /v2/ HTTP/1.1" 200 0 0.004\n')
    (a,) = ingest(store, [IngestSpec(path=str(iso), log_format='$remote_addr [$time_iso8601] "$request" '
                                     "$status $body_bytes_sent $request_time")])  # fmt: skip
    msec = tmp_path / "msec.log"
    msec.write_text(
        '1795816340.123 10.3.3.3 "GET /v2/_catalog HTTP/1.1" 401 99\n'
    )  # 2026-11-27 21:52:20.123Z
    (b,) = ingest(
        store, [IngestSpec(path=str(msec), log_format='$msec $remote_addr "$request" $status $bytes_sent')]
    )
    assert (a.accepted, b.accepted) == (1, 1)
    assert _rows(
        store,
        "SELECT client_ip, ts, route, status, duration_s FROM requests WHERE request_id IS NULL ORDER BY ts",
    ) == [  # fmt: skip
        ("10.2.2.2", datetime(2026, 11, 27, 21, 52, 20), "ping", 200, 0.004),
        ("10.3.3.3", datetime(2026, 11, 27, 21, 52, 20, 123000), "catalog", 401, None),
    ]


# -- Go durations --------------------------------------------------------------------------------------

_DURATION_CONN: duckdb.DuckDBPyConnection | None = None


def _duration(text: str) -> float | None:
    global _DURATION_CONN  # one connection for all hypothesis examples  # noqa: PLW0603
    if _DURATION_CONN is None:
        _DURATION_CONN = duckdb.connect()
        for stmt in sql_statements("macros"):
            _DURATION_CONN.execute(stmt)
    row = _DURATION_CONN.execute("SELECT rw_go_duration(?)", [text]).fetchone()
    return row[0] if row else None


def _go_string(ns: int) -> str:
    """Go's time.Duration.String()."""
    if ns == 0:
        return "0s"
    neg, u = ns < 0, abs(ns)
    if u < 1_000_000_000:
        for unit, div in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < div * 1000:
                whole, frac = divmod(u, div)
                digits = len(str(div)) - 1
                f = f".{frac:0{digits}d}".rstrip("0").rstrip(".") if digits else ""
                return ("-" if neg else "") + f"{whole}{f}{unit}"
    secs, frac = divmod(u, 1_000_000_000)
    f = f".{frac:09d}".rstrip("0").rstrip(".")
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{s}{f}s"
    return ("-" if neg else "") + out


@settings(deadline=None, max_examples=300)
@given(st.integers(min_value=0, max_value=10**15))
def test_go_duration_exact(ns: int) -> None:
    assert _duration(_go_string(ns)) == ns / 1e9


def test_go_duration_forms() -> None:
    for text, want in (("1m2.5s", 62.5), ("850ns", 850e-9), ("12us", 12e-6), ("12µs", 12e-6),
                       ("1h0m0.5s", 3600.5), ("2h45m", 9900.0), ("4.538778ms", 0.004538778), ("0s", 0.0),
                       ("1.5h", 5400.0), ("junk", None), ("", None), ("5", None),
                       ("-1.5s", -1.5), ("999.999999999ms", 1.0), ("100000000000000000000s", None),
                       ("99999999999999999999h", None)):  # fmt: skip
        assert _duration(text) == want, text
