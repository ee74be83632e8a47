"""The SQL macros that cut request URIs apart (regwatch/ingest/sql/macros.sql), checked row by row."""

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


def test_v2_parts_of_null_is_null(conn: duckdb.DuckDBPyConnection) -> None:
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
