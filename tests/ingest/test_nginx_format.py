"""nginx log_format compilation: the strict (one-pass) pattern gives exactly the general pattern's groups.

formats/nginx.py matches a line with the strict pattern first and falls back to the general one; the
result must be what the general pattern alone gives, on every line. Lines are built from values that
make cutting hard: spaces, quotes (raw and nginx's \\x22), brackets, digits, dashes, colons.
"""

from __future__ import annotations

import random

import duckdb
import pytest
from nginx_proxy import LOG_FORMAT

from regwatch.ingest.formats import nginx, sql_statements

FORMATS = [
    "combined",
    "main",
    LOG_FORMAT,
    '$msec $remote_addr "$request" $status $bytes_sent',
    "$remote_addr [$time_iso8601] $request_time $upstream_response_time $host",
    '$remote_addr:$status "$request"',  # \S+ runs into ':': no strict pattern
    "$host$request_uri $status",  # two variables side by side: no strict pattern
]
VALUES = [
    "", "-", "a", "a b", '"', 'x"y', "\\x22", "a\\x22 b", "[", "]", "[a]", "10.0.0.1", "::1", "1.5", "200",
    "20", "2000", "12345", "GET /v2/ HTTP/1.1", "GET /v2/a b HTTP/1.1", "27/Nov/2026:20:52:20 +0100",
    "x y z", " ", '" "', "é ü", "a:b", "1:2",
]  # fmt: skip


def _conn(fmt: nginx.CompiledFormat) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    for stmt in sql_statements("macros"):
        conn.execute(stmt)
    for stmt in nginx.macros_sql(fmt):
        conn.execute(stmt)
    return conn


def _lines(log_format: str, rng: random.Random, n: int) -> list[str]:
    """Lines of the format: half of them with plain values (what nginx writes), the others with any
    value from VALUES in some places."""
    text = nginx.NAMED.get(log_format, log_format)
    pieces = nginx._VAR.split(text)  # literal, name, None, literal, ...
    plain = {"status": "200", "body_bytes_sent": "512", "bytes_sent": "734", "msec": "1764276740.123",
             "request_time": "0.004", "time_local": "27/Nov/2026:20:52:20 +0100", "remote_addr": "10.0.0.7",
             "request": "GET /v2/a/manifests/latest HTTP/1.1", "http_user_agent": "containerd/v1.7.2"}  # fmt: skip
    lines = []
    for _ in range(n):
        odd = 0.3 if rng.random() < 0.5 else 0.0  # half the lines as nginx writes them
        out = []
        for i in range(0, len(pieces), 3):
            out.append(pieces[i])
            if i + 1 < len(pieces):
                name = pieces[i + 1] or pieces[i + 2]
                out.append(rng.choice(VALUES) if rng.random() < odd else plain.get(name, "x"))
        lines.append("".join(out))
    return lines


@pytest.mark.parametrize("log_format", FORMATS)
def test_strict_pattern_gives_the_general_patterns_groups(log_format: str) -> None:
    fmt = nginx.compile_format(log_format)
    assert fmt.pattern is not None
    conn = _conn(fmt)
    names = ["g_all"] + [f"g{i}" for i in range(len(fmt.variables))]
    lines = _lines(log_format, random.Random(log_format), 4000)
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE rw_nginx_match(l).g_all <> ''), "
        "count(*) FILTER (WHERE regexp_extract(l, $p, $n).g_all <> ''), "
        "count(*) FILTER (WHERE rw_nginx_retry(l, rw_nginx_match(l)) IS DISTINCT FROM regexp_extract(l, $p, $n)), "
        "any_value(l) FILTER (WHERE rw_nginx_retry(l, rw_nginx_match(l)) IS DISTINCT FROM regexp_extract(l, $p, $n)) "
        "FROM (SELECT unnest($lines) AS l)",
        {"p": fmt.pattern, "n": names, "lines": lines},
    ).fetchone()
    assert row is not None
    strict_matched, general_matched, differ, example = row
    assert (differ, example) == (0, None)
    if fmt.strict == fmt.pattern:
        assert log_format in ('$remote_addr:$status "$request"', "$host$request_uri $status")
    else:  # the strict pattern takes most lines (the fast path is used), and fewer than the general one
        assert len(lines) // 2 < strict_matched < general_matched


def test_strict_pattern_of_combined() -> None:
    fmt = nginx.compile_format("combined")
    assert (
        fmt.strict
        == r'^((\S+)\ \-\ ([^\ ]*)\ \[([^\]]+)\]\ "([^"]*)"\ (\d{3})\ (\d+|-)\ "([^"]*)"\ "([^"]*)")$'
    )
    assert fmt.pattern == r'^((\S+)\ \-\ (.*?)\ \[([^\]]+)\]\ "(.*?)"\ (\d{3})\ (\d+|-)\ "(.*?)"\ "(.*?)")$'


@pytest.mark.parametrize("log_format", FORMATS)
def test_fast_cut_gives_the_strict_then_general_groups(log_format: str) -> None:
    # match_sql cuts the lines fmt.check matches with string functions: it must give what the macros do
    fmt = nginx.compile_format(log_format)
    conn = _conn(fmt)
    lines = _lines(log_format, random.Random(log_format + "cut"), 4000)
    conn.execute(
        "CREATE TEMP TABLE rw_raw AS SELECT CAST(i AS BIGINT) AS line, lines[i] AS raw "
        "FROM (SELECT ? AS lines), range(1, len(lines) + 1) t(i)",
        [[*lines, "", "#regwatch-rejected#"]],
    )
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE m IS DISTINCT FROM rw_nginx_retry(raw, rw_nginx_match(raw))), "
        "any_value(raw) FILTER (WHERE m IS DISTINCT FROM rw_nginx_retry(raw, rw_nginx_match(raw))), "
        f"count(*) FILTER (WHERE regexp_matches(raw, {nginx._literal(fmt.check or '^$')})) "
        f"FROM ({nginx.match_sql(fmt)})"
    ).fetchone()
    assert row is not None
    total, differ, example, cut = row
    assert (total, differ, example) == (len(lines), 0, None)
    if log_format in ('$remote_addr:$status "$request"', "$host$request_uri $status"):
        assert fmt.check is None
    else:  # most lines take the fast cut
        assert fmt.check is not None
        assert len(lines) // 2 < cut < len(lines)


@pytest.mark.parametrize(
    ("log_format", "cuttable"),
    [
        ("${status}1 $request", False),  # a digit after the status: it may be in the value
        ("$body_bytes_sent-$request", False),  # "-" is a value of body_bytes_sent
        ("$request_time.$status", False),
        ("$request_time $status", True),
        ("$time_local] $status", True),
        ('$remote_addr "$request" $status', True),
    ],
)
def test_fast_cut_only_where_the_value_cannot_hold_the_literal(log_format: str, cuttable: bool) -> None:
    assert (nginx.compile_format(log_format).check is not None) is cuttable
