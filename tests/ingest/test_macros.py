"""The SQL macros that cut request URIs and logrus text records apart (regwatch/ingest/sql/macros.sql), row by row."""

from __future__ import annotations

import itertools
import random

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regwatch.ingest.formats import sql_statements

# What rw_v2_parts must give, written the plain way (it is written without capture groups, for speed).
V2_REGEX = r"^/v2/(.+?)/(manifests|blobs/uploads|blobs|tags|referrers)(?:/(.*))?$"

# Path components that make the lazy repository match and the kind alternatives hard: kinds, near
# kinds, empty components, spaces, control and multi-byte characters (one and several code points).
COMPONENTS = [
    "", "a", "v2", "manifests", "blobs", "uploads", "tags", "list", "referrers", "sha256:ab", "x.y", "µ",
    "e\u0301", "\r", " ", "\t", "blobsx", "xblobs", "manifest", "uploadsx", "tag", "referrer", "👍🏽", "é/",
]  # fmt: skip
PREFIXES = ["/v2/", "/v2", "/", "", "/v1/", "/v2//", "v2/", "/V2/", "/v2/v2/"]


_CONN: duckdb.DuckDBPyConnection | None = None


def _conn() -> duckdb.DuckDBPyConnection:
    global _CONN  # one connection for the module, hypothesis examples included  # noqa: PLW0603
    if _CONN is None:
        _CONN = duckdb.connect()
        for stmt in sql_statements("macros"):
            _CONN.execute(stmt)
    return _CONN


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    return _conn()


def _generated_paths() -> list[str]:
    rng = random.Random(7)
    paths = {
        rng.choice(PREFIXES) + "/".join(rng.choice(COMPONENTS) for _ in range(rng.randrange(8)))
        + rng.choice(["", "/", "//"])
        for _ in range(20000)
    }  # fmt: skip
    for a, b, c in itertools.product(COMPONENTS, repeat=3):
        paths.update((f"/v2/{a}/{b}/{c}", f"/v2/r/{a}/{b}", f"/v2/{a}/{b}"))
    return sorted(paths)


def _mismatches(conn: duckdb.DuckDBPyConnection, paths: list[str]) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT path, regexp_extract(path, $re, ['repo', 'kind', 'rest']) AS want, rw_v2_parts(path) AS got "
        "FROM (SELECT unnest($paths) AS path) WHERE want IS DISTINCT FROM got LIMIT 5",
        {"re": V2_REGEX, "paths": paths},
    ).fetchall()


def test_v2_parts_is_the_capture_regex_on_generated_paths(conn: duckdb.DuckDBPyConnection) -> None:
    paths = _generated_paths()
    assert len(paths) > 25000
    assert _mismatches(conn, paths) == []
    matched = conn.execute(
        "SELECT count(*) FROM (SELECT unnest(?) AS p) WHERE rw_v2_parts(p).kind <> ''", [paths]
    ).fetchone()
    assert matched is not None and matched[0] > 5000  # both outcomes are well covered


@settings(deadline=None, max_examples=300)
@given(st.text(alphabet="/v2abmnfestlourpkdxé👍 ", max_size=40))
def test_v2_parts_is_the_capture_regex_on_any_text(text: str) -> None:
    assert _mismatches(_conn(), [text, "/v2/" + text, "/v2/r/" + text]) == []


def test_v2_parts_of_null_are_null(conn: duckdb.DuckDBPyConnection) -> None:
    assert conn.execute("SELECT rw_v2_parts(NULL::VARCHAR)").fetchone() == (
        {"repo": None, "kind": None, "rest": None},
    )


DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("uri", "route", "repository", "reference", "digest"),
    [
        ("/v2/", "ping", None, None, None),
        ("/v2", "ping", None, None, None),
        ("/v2/_catalog?n=100", "catalog", None, None, None),
        ("/token?scope=repository:a/b:pull&service=registry", "token", None, None, None),
        ("/v2/team/app/manifests/v1.2", "manifest", "team/app", "v1.2", None),
        (f"/v2/team/app/manifests/{DIGEST}", "manifest", "team/app", DIGEST, DIGEST),
        (f"/v2/a/b/c/blobs/{DIGEST}", "blob", "a/b/c", DIGEST, DIGEST),
        ("/v2/app/blobs/uploads/", "blob_upload", "app", None, None),
        (
            f"/v2/app/blobs/uploads/0f1e-uuid?_state=x&digest=sha256%3A{'ab' * 32}",
            "blob_upload",
            "app",
            None,
            DIGEST,
        ),
        ("/v2/app/tags/list?n=10", "tags", "app", None, None),
        (f"/v2/app/referrers/{DIGEST}", "referrers", "app", DIGEST, DIGEST),
        # the first kind component ends the repository (the lazy match): "manifests" may name a repository
        # component only after it
        ("/v2/tags/manifests/latest", "manifest", "tags", "latest", None),
        ("/v2/a/manifests/b/manifests/c", "other", None, None, None),
        ("/v2/manifests/latest", "other", None, None, None),
        ("/v2/app/manifests/", "other", None, None, None),
        ("/v2/app/blobs", "other", None, None, None),
        ("/", "other", None, None, None),
        ("/v1/app/manifests/latest", "other", None, None, None),
    ],  # fmt: skip
)
def test_route_repository_reference_digest(
    conn: duckdb.DuckDBPyConnection, uri: str, route: str, repository: str | None, reference: str | None,
    digest: str | None,
) -> None:  # fmt: skip
    row = conn.execute(
        "SELECT route, rw_repository(route, p), rw_reference(route, p), rw_digest(route, p, uri) FROM ("
        " SELECT *, rw_route_of(path, p) AS route FROM ("
        "  SELECT *, rw_v2_parts(path) AS p FROM (SELECT uri, split_part(uri, '?', 1) AS path FROM (SELECT ? AS uri))))",
        [uri],
    ).fetchone()
    assert row == (route, repository, reference, digest)


# A logrus text record's fields (rw_logfmt_fields): the fast path (a plain record rewritten into JSON)
# and the token path give the same values; the cases below hold on both.
FIELDS = "['$.\"time\"', '$.\"a\"', '$.\"b\"', '$.\"c\"']"


def _fields(conn: duckdb.DuckDBPyConnection, line: str) -> tuple[bool, list[str | None], list[str | None]]:
    row = conn.execute(
        f"SELECT rw_logfmt_plain($l), rw_logfmt_fields($l, {FIELDS}), rw_logfmt_tokens($l, {FIELDS})",
        {"l": line},
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


@pytest.mark.parametrize(
    ("line", "plain", "want"),
    [
        ('time="T" a=1 b="x y=z" c=ü', True, ["T", "1", "x y=z", "ü"]),
        # empty values, bare or quoted, are no values
        ('time="T" a= b="" c=3', True, ["T", None, None, "3"]),
        ('time="T" a=1 b=2 c=', True, ["T", "1", "2", None]),
        # the first token of a key wins; a key written inside another token's quoted value is no token
        ('time="T" msg="a=evil b=evil" a=1 a=2 b="x" b="y"', True, ["T", "1", "x", None]),
        (
            'time="T" a="{\\"k\\":1} \\\\ \\n"',
            False,
            ["T", '{"k":1} \\ \\n', None, None],
        ),  # \" \\ decoded only
        ('time="T" a="cut', False, ["T", None, None, None]),  # a quoted value never closed
        ('time="T"  a=1 b=2 ', False, ["T", "1", "2", None]),  # odd spacing: tokens all the same
        ('time="T" a=x"y b=2', False, ["T", 'x"y', "2", None]),
        ('time="T" a=1\tb=2', False, ["T", "1\tb=2", None, None]),
        ('a=1 b="é 👍"', True, [None, "1", "é 👍", None]),
    ],
)
def test_logfmt_fields(
    conn: duckdb.DuckDBPyConnection, line: str, plain: bool, want: list[str | None]
) -> None:
    assert _fields(conn, line) == (plain, want, want)


@settings(deadline=None, max_examples=400)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["time", "a", "b", "c", "msg", "a b", 'a"', "é"]),
            st.sampled_from(["=", "= ", "=  ", ""]),
            st.text(alphabet='ab =é"\\\t{}', max_size=8),
            st.booleans(),
        ),
        max_size=6,
    )
)
def test_logfmt_fast_path_is_the_token_path(tokens: list[tuple[str, str, str, bool]]) -> None:
    line = " ".join(k + eq + (f'"{v}"' if quoted else v) for k, eq, v, quoted in tokens)
    plain, fast, slow = _fields(_conn(), line)
    assert fast == slow, line


def test_logfmt_fast_path_is_the_token_path_on_plain_records(conn: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(3)
    values = ["", "1", "x", "ü", "a=b", "{}", "null", "x y", "sha256:ab", "/v2/a/b", "1.5ms", "👍 ="]
    lines = []
    for _ in range(3000):
        parts = []
        for _ in range(rng.randrange(1, 7)):
            key, value = rng.choice(["time", "a", "b", "c", "msg", "é.x"]), rng.choice(values)
            bare = value and not any(ch in value for ch in ' ="')
            parts.append(f"{key}={value}" if bare and rng.random() < 0.7 else f'{key}="{value}"')
        lines.append(" ".join(parts))
    rows = conn.execute(
        f"SELECT count(*) FILTER (WHERE rw_logfmt_plain(l)), count(*) FILTER (WHERE "
        f"rw_logfmt_fields(l, {FIELDS}) IS DISTINCT FROM rw_logfmt_tokens(l, {FIELDS})) FROM (SELECT unnest(?) AS l)",
        [lines],
    ).fetchone()
    assert rows == (len(lines), 0)


# A JSON completion record's fields (rw_completion: from_json into a struct) are what
# json_extract_string gives for the same paths: numbers as written by yyjson, objects and arrays as
# JSON text, null and absent keys as NULL, the first of duplicate keys, escapes decoded.
COMPLETION_DOCS = [
    '{"time":"2026-11-27T20:52:20Z","http.request.method":"GET","http.request.uri":"/v2/"}',
    '{"http.response.status":200,"http.response.written":1.50,"http.response.duration":true}',
    '{"http.request.method":{"a":[1,2]},"http.request.uri":[1,"x"],"auth.user.name":null}',
    '{"http.request.method":"GET","http.request.method":"PUT","time":""}',
    '{"http.request.uri":"\\u00e9\\"\\\\\\n","http.request.useragent":"\\ud83d\\udc4d"}',
    '{"http.response.status":12345678901234567890123,"http.response.written":-1e400}',
    '{"http":{"request":{"method":"GET"}},"http.request.id":"x"}',
    "[1, 2]",
    "{}",
    '"x"',
]


@pytest.mark.parametrize("doc", COMPLETION_DOCS)
def test_completion_struct_is_the_paths_list(conn: duckdb.DuckDBPyConnection, doc: str) -> None:
    row = conn.execute(
        "SELECT rw_completion($d), rw_completion_of(json_extract_string($d, rw_completion_fields()))",
        {"d": doc},
    ).fetchone()
    assert row is not None
    assert row[0] == row[1]


@pytest.mark.parametrize("doc", ['{"time":"x"', '{"time":}', "nope", '{"a":1}}'])
def test_completion_of_malformed_json_is_an_error(conn: duckdb.DuckDBPyConnection, doc: str) -> None:
    # the parse statement wraps it in try(): a malformed record has no fields and is rejected
    with pytest.raises(duckdb.InvalidInputException):
        conn.execute("SELECT rw_completion(?)", [doc]).fetchone()
    assert conn.execute("SELECT try(rw_completion(?))", [doc]).fetchone() == (None,)


@pytest.mark.parametrize(
    ("addr", "want"),
    [
        ("10.0.0.1:5000", "10.0.0.1"),
        ("10.0.0.1", "10.0.0.1"),  # X-Forwarded-For / X-Real-IP: no port
        ("[::1]:5000", "::1"),
        ("[fe80::1%eth0]:443", "fe80::1%eth0"),
        ("::1", "::1"),  # IPv6 without brackets: no port to strip
        ("2001:db8::7", "2001:db8::7"),
        ("host.example:80", "host.example"),
        ("a:", "a"),
        (":5000", ""),
        ("é:1", "é"),
        ("%:_", "%"),
        ("", None),
        ("-", None),
        (None, None),
    ],
)
def test_strip_port(conn: duckdb.DuckDBPyConnection, addr: str | None, want: str | None) -> None:
    assert conn.execute("SELECT rw_strip_port(CAST(? AS VARCHAR))", [addr]).fetchone() == (want,)


def _record_kind(raw: str, msg: str) -> str:
    """What rw_record_kind must give, the plain way."""
    if msg + "response completed" in raw:
        return "done"
    return "authfail" if msg + "error authorizing context" in raw else "other"


# Pieces of records that make the prefilter and the exact needles disagree: the messages with the
# wrong key, quote or spacing, keys that end in "msg", both messages in one record, a cut message.
RECORD_PIECES = [
    '{"level":"info",', '"msg":"response completed"', '"msg":"response completed with error"',
    '"msg":"error authorizing context: authorization token required"', '"errmsg":"response completed"',
    '"msg": "response completed"', '"msg":"authorized request"', '"msg":"error authorizing"',
    ' completed', ' authorizing', 'msg="response completed"', ' msg="response completed"',
    ' msg="error authorizing context"', 'time="2026-11-02T00:00:00Z" level=warning', '"msg":"response',
    '\\"msg\\":\\"response completed\\"', '"msg":"', 'response completed', "}", " ",
]  # fmt: skip


@settings(deadline=None, max_examples=400)
@given(st.lists(st.sampled_from(RECORD_PIECES), max_size=6), st.sampled_from(['"msg":"', ' msg="']))
def test_record_kind_is_the_plain_substring_rule(pieces: list[str], msg: str) -> None:
    raw = "".join(pieces)
    got = _conn().execute("SELECT rw_record_kind(?, ?)", [raw, msg]).fetchone()
    assert got == (_record_kind(raw, msg),), raw


@pytest.mark.parametrize(
    ("raw", "msg", "want"),
    [
        ('{"level":"info","msg":"response completed","time":"x"}', '"msg":"', "done"),
        ('{"level":"warning","msg":"error authorizing context: authorization token required"}', '"msg":"', "authfail"),
        ('{"errmsg":"response completed","msg":"authorized request"}', '"msg":"', "other"),
        ('{"msg":"error authorizing context","x":"response completed"}', '"msg":"', "authfail"),
        ('time="x" level=info msg="response completed" a=b', ' msg="', "done"),
        ('time="x" level=info msg="authorized request"', ' msg="', "other"),
    ],
)  # fmt: skip
def test_record_kind(raw: str, msg: str, want: str) -> None:
    assert _conn().execute("SELECT rw_record_kind(?, ?)", [raw, msg]).fetchone() == (want,)
