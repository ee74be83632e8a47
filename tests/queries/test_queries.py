"""The named postmortem queries and ad-hoc SQL, end to end through the CLI on a real DuckDB file."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

import pytest
from click.testing import CliRunner, Result
from queries.query_data import DIGEST_A, DIGEST_B, LAYER

from regwatch.cli import cli
from regwatch.errors import QueryError
from regwatch.queries import list_queries, load_query, parse_query, run_query
from regwatch.store import connect

NAMES = [
    "auth-failures", "egress-by-repo", "error-timeline", "probe-failures", "retries", "slowest-manifests",
    "tag-history", "top-failing-clients", "top-failing-repos", "who-pulled",
]  # fmt: skip
TODAY = ["--since", "2026-11-20"]


def q(db: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db, "query", *args])


def rows(db: str, *args: str) -> list[dict]:
    result = q(db, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def t(text: str) -> str:
    return f"2026-11-20T{text}Z" if len(text) <= 8 else text


def test_every_sql_file_has_a_valid_header() -> None:
    files = [e.name for e in resources.files("regwatch.queries").iterdir() if e.name.endswith(".sql")]
    assert sorted(f.removesuffix(".sql") for f in files) == NAMES
    for query in list_queries():
        assert query.description.endswith(".") and query.sql.startswith("-- name: " + query.name)
        assert query.placeholders <= {p.name for p in query.params} | {"since", "until"}


def test_header_mistakes_are_reported_with_the_file() -> None:
    with pytest.raises(QueryError, match=r"x.sql: uses undeclared parameter\(s\) \$repo"):
        parse_query("x.sql", "-- name: x\n-- description: d.\nSELECT $repo")
    with pytest.raises(QueryError, match=r"x.sql:3: malformed param line"):
        parse_query("x.sql", "-- name: x\n-- description: d.\n-- param: repo text\nSELECT 1")
    with pytest.raises(QueryError, match=r"x.sql: header needs"):
        parse_query("x.sql", "SELECT 1")


def test_list_names_every_query_and_its_parameters(query_db: str) -> None:
    result = q(query_db, "--list")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert listed[: len(NAMES)] == NAMES
    assert "--param digest=TEXT (optional): content digest" in result.stdout
    assert "--param window=DURATION (default 60s)" in result.stdout


def test_who_pulled_a_digest_finds_pulls_by_tag_and_events_once(query_db: str) -> None:
    assert rows(query_db, "who-pulled", "--param", f"digest={DIGEST_A}") == [
        {"client": "10.0.0.2", "user": "bob", "user_agent": "containerd/1.7", "pulls": 2,
         "first_seen": t("10:01:00"), "last_seen": t("10:02:00"), "repositories": "platform/base", "sources": "logs"},
        {"client": "10.0.0.9", "user": "eve", "user_agent": "docker/23", "pulls": 1,
         "first_seen": "2026-11-19T09:00:00Z", "last_seen": "2026-11-19T09:00:00Z", "repositories": "platform/base",
         "sources": "logs"},
        {"client": "10.0.0.1", "user": "alice", "user_agent": "docker/24", "pulls": 1,
         "first_seen": t("10:00:00"), "last_seen": t("10:00:00"), "repositories": "platform/base",
         "sources": "events, logs"},
        {"client": "2001:db8::7", "user": "dave", "user_agent": "podman/4", "pulls": 1,
         "first_seen": t("10:09:00"), "last_seen": t("10:09:00"), "repositories": "platform/base", "sources": "events"},
    ]  # fmt: skip
    since = rows(query_db, "who-pulled", "--param", f"digest={DIGEST_A}", *TODAY)
    assert [r["client"] for r in since] == ["10.0.0.2", "10.0.0.1", "2001:db8::7"]


def test_who_pulled_a_layer_and_a_repository(query_db: str) -> None:
    layer = rows(query_db, "who-pulled", "--param", f"digest={LAYER}")
    assert [(r["client"], r["user"], r["pulls"]) for r in layer] == [
        ("10.0.0.1", "alice", 1),
        ("10.0.0.4", "carol", 1),
    ]
    repo = rows(query_db, "who-pulled", "--param", "repository=platform/base", *TODAY)
    assert [(r["client"], r["pulls"]) for r in repo] == [
        ("10.0.0.3", 3),
        ("10.0.0.2", 2),
        ("10.0.0.1", 1),
        ("2001:db8::7", 1),
    ]
    assert (
        rows(query_db, "who-pulled", "--param", "repository=team/app") == []
    )  # a 429 and a 403 are no pulls


def test_error_timeline_fills_quiet_minutes(query_db: str) -> None:
    result = q(query_db, "error-timeline", *TODAY, "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "minute,requests,2xx,3xx,4xx,401/403,429,5xx,other\n"
        "2026-11-20T10:00:00Z,2,2,0,0,0,0,0,0\n"
        "2026-11-20T10:01:00Z,2,2,0,0,0,0,0,0\n"
        "2026-11-20T10:02:00Z,1,1,0,0,0,0,0,0\n"
        "2026-11-20T10:03:00Z,2,1,0,0,0,0,1,0\n"
        "2026-11-20T10:04:00Z,1,0,0,0,0,0,1,0\n"
        "2026-11-20T10:05:00Z,1,1,0,0,0,0,0,0\n"
        "2026-11-20T10:06:00Z,6,1,0,0,4,1,0,0\n"
        "2026-11-20T10:07:00Z,0,0,0,0,0,0,0,0\n"
        "2026-11-20T10:08:00Z,1,1,0,0,0,0,0,0\n"
    )
    eu = rows(query_db, "error-timeline", "--param", "region=eu", "--param", "route=token")
    assert [(r["minute"], r["requests"], r["401/403"]) for r in eu] == [(t("10:06:00"), 2, 2)]


def test_top_failing_repos_and_clients(query_db: str) -> None:
    assert rows(query_db, "top-failing-repos") == [
        {"repository": "platform/base", "requests": 12, "failures": 2, "failure_ratio": 0.166667, "5xx": 2, "429": 0,
         "client_errors": 1, "first_failure": t("10:03:00"), "last_failure": t("10:04:00")},
        {"repository": "team/app", "requests": 3, "failures": 1, "failure_ratio": 0.333333, "5xx": 0, "429": 1,
         "client_errors": 1, "first_failure": t("10:06:00"), "last_failure": t("10:06:00")},
    ]  # fmt: skip
    clients = rows(query_db, "top-failing-clients", "--param", "limit=5")
    assert [(r["client_ip"], r["user_agent"], r["users"], r["requests"], r["failures"]) for r in clients] == [
        ("10.0.0.3", "ci/1", None, 6, 2),
        ("10.0.0.4", "skopeo/1.9", "carol", 3, 1),
    ]
    assert [r["repository"] for r in rows(query_db, "top-failing-repos", "--param", "limit=1")] == [
        "platform/base"
    ]


def test_auth_failures_by_user_and_client(query_db: str) -> None:
    assert [
        (
            r["user"],
            r["client_ip"],
            r["failures"],
            r["401"],
            r["403"],
            r["repositories"],
            r["routes"],
            r["first_seen"],
        )
        for r in rows(query_db, "auth-failures")
    ] == [
        ("mallory", "10.0.0.5", 2, 2, 0, 0, "token", t("10:06:06")),
        ("carol", "10.0.0.4", 1, 0, 1, 1, "manifest", t("10:06:05")),
        (None, "10.0.0.3", 1, 1, 0, 1, "manifest", t("10:06:00")),
    ]
    assert [r["user"] for r in rows(query_db, "auth-failures", "--param", "user=carol")] == ["carol"]


def test_slowest_manifests(query_db: str) -> None:
    got = rows(query_db, "slowest-manifests", "--param", "limit=3")
    assert [(r["request_id"], r["duration_s"], r["status"]) for r in got] == [
        ("r8", 3.0, 503),
        ("r6", 2.5, 503),
        ("r0", 1.5, 200),
    ]
    got = rows(query_db, "slowest-manifests", "--param", "limit=3", *TODAY)
    assert [r["request_id"] for r in got] == ["r8", "r6", "r9"]


def test_egress_by_repo(query_db: str) -> None:
    assert rows(query_db, "egress-by-repo") == [
        {"repository": "platform/base", "egress_bytes": 56700, "egress_gib": 5.3e-05, "pulls": 7,
         "egress_bytes_per_pull": 8100.0, "clients": 4},
        {"repository": "team/app", "egress_bytes": 7000, "egress_gib": 7e-06, "pulls": 0,
         "egress_bytes_per_pull": None, "clients": 1},
    ]  # fmt: skip


def test_retries_follow_the_slo_engine_rule(query_db: str) -> None:
    got = rows(query_db, "retries")
    assert got == [
        {"client_ip": "10.0.0.3", "user_agent": "ci/1", "bad_pulls": 2, "retries": 1, "retries_good": 1,
         "retries_bad": 0, "first_retry": t("10:03:10"), "last_retry": t("10:03:10")},
        # the 403 five seconds after the 429 is a retry too (whose outcome is excluded)
        {"client_ip": "10.0.0.4", "user_agent": "skopeo/1.9", "bad_pulls": 1, "retries": 1, "retries_good": 0,
         "retries_bad": 0, "first_retry": t("10:06:05"), "last_retry": t("10:06:05")},
    ]  # fmt: skip
    wide = rows(query_db, "retries", "--param", "window=2m", "--param", "repository=platform/base")
    assert [(r["client_ip"], r["retries"], r["retries_good"], r["last_retry"]) for r in wide] == [
        ("10.0.0.3", 2, 2, t("10:05:30"))
    ]


def test_probe_failures(query_db: str) -> None:
    assert rows(query_db, "probe-failures") == [
        {"registry": "main", "region": "us", "auth_path": "anonymous", "kind": "pull", "reason": "server_error",
         "failures": 2, "probes": 3, "failure_ratio": 0.666667, "statuses": "502, 503",
         "first_failure": t("10:01:00"), "last_failure": t("10:02:00"), "last_error": "GET blob: 502"},
        {"registry": "main", "region": "eu", "auth_path": "robot", "kind": "pull", "reason": "unauthorized",
         "failures": 1, "probes": 2, "failure_ratio": 0.5, "statuses": "401",
         "first_failure": t("10:03:00"), "last_failure": t("10:03:00"), "last_error": "token refused"},
        {"registry": "main", "region": "eu", "auth_path": "robot", "kind": "replication",
         "reason": "replication_timeout", "failures": 1, "probes": 1, "failure_ratio": 1.0, "statuses": None,
         "first_failure": t("10:05:00"), "last_failure": t("10:05:00"), "last_error": "not replicated after 300s"},
    ]  # fmt: skip


def test_tag_history_joins_events_and_probe_observations(query_db: str) -> None:
    want = [
        ("2026-11-18T08:00:00Z", "events", "push", "stable", DIGEST_A, None, "ci"),
        (t("10:10:00"), "events", "push", "stable", DIGEST_B, None, "ci"),
        (
            t("10:11:00"),
            "events",
            "delete",
            "stable",
            DIGEST_A,
            None,
            "admin",
        ),  # by digest: mapped to its tag
        (t("10:12:00"), "probe", "changed", "stable", DIGEST_B, DIGEST_A, None),
        (t("10:13:00"), "probe", "missing", "stable", None, DIGEST_B, None),
        (t("10:15:00"), "probe", "present", "stable", DIGEST_B, DIGEST_B, None),
    ]
    for extra in (["--param", "tag=stable"], []):
        got = rows(query_db, "tag-history", "--param", "repository=platform/base", *extra)
        assert [
            (r["ts"], r["source"], r["action"], r["tag"], r["digest"], r["previous_digest"], r["actor"])
            for r in got
        ] == want
    assert rows(query_db, "tag-history", "--param", "repository=platform/base", "--since", "2026-11-20T10:11:30Z",
                "--until", "2026-11-20T10:14:00Z")[0]["action"] == "changed"  # fmt: skip


@pytest.mark.parametrize(
    "param",
    [
        "repository=platform/base' OR '1'='1",
        "repository=x'); DELETE FROM requests; --",
        f"digest={DIGEST_A}' OR 1=1 --",
        "digest=$digest",
    ],
)
def test_parameters_are_bound_not_pasted(query_db: str, param: str) -> None:
    assert rows(query_db, "who-pulled", "--param", param) == []
    with connect(query_db, read_only=True) as store:
        assert store.fetchall("SELECT count(*) FROM requests") == [(17,)]


def test_a_non_number_for_a_number_parameter_is_refused(query_db: str) -> None:
    result = q(query_db, "top-failing-repos", "--param", "limit=1; DROP TABLE requests")
    assert result.exit_code == 2
    assert result.stderr == "regwatch: error: --param limit: not an integer: '1; DROP TABLE requests'\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown query 'nope' (known: " + ", ".join(NAMES) + ")"),
        (["who-pulled"], "query who-pulled: give --param repository=... or --param digest=..."),
        (["tag-history"], "query tag-history: missing --param repository=... (exact repository name)"),
        (
            ["who-pulled", "--param", "repo=x"],
            "query who-pulled: unknown parameter 'repo' (parameters: repository, digest)",
        ),
        (["who-pulled", "--param", "repository"], "--param 'repository': expected KEY=VALUE"),
        (["retries", "--param", "window=soon"], "--param window: not a duration like 5m, 1h or 30d: 'soon'"),
        (
            ["error-timeline", "--since", "2026-11-21", "--until", "2026-11-20"],
            "--since must be before --until",
        ),
        (["error-timeline", "--param", "since=-1h"], "--param since: use --since instead"),
        ([], "give one of NAME, --list or --sql"),
        (["who-pulled", "--sql", "SELECT 1"], "NAME and --sql cannot go together"),
        (
            ["--sql", "SELECT 1", "--since", "-1h"],
            "--param, --since and --until are for named queries, not --sql",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(query_db: str, args: list[str], message: str) -> None:
    result = q(query_db, *args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"regwatch: error: {message}\n"


def test_adhoc_sql_runs_selects_with_the_classification_macros(query_db: str) -> None:
    result = q(
        query_db,
        "--sql",
        "SELECT rw_outcome(status) AS outcome, count(*) AS n FROM requests GROUP BY 1 ORDER BY 1",
    )
    assert result.exit_code == 0
    assert result.stdout == "OUTCOME   N\nbad       3\nexcluded  4\ngood      10\n"


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DELETE FROM requests", "DELETE"),
        (
            "INSERT INTO requests (ts, registry, region, source, route) VALUES (now(), 'a', 'b', 'c', 'd')",
            "INSERT",
        ),
        ("UPDATE requests SET status = 200", "UPDATE"),
        ("DROP TABLE requests", "DROP"),
        ("CREATE TABLE x AS SELECT 1", "CREATE"),
        ("COPY requests TO '/tmp/regwatch-stolen.csv'", "COPY"),
        ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
        ("SET threads = 1", "SET"),
    ],
)
def test_adhoc_writes_are_refused(query_db: str, sql: str, kind: str) -> None:
    result = q(query_db, "--sql", sql)
    assert result.exit_code == 2
    assert result.stderr == (
        f"regwatch: error: --sql: refused {kind} statement: only SELECT queries run here, on a read-only store\n"
    )
    with connect(query_db, read_only=True) as store:
        assert store.fetchall("SELECT count(*) FROM requests") == [(17,)]


def test_adhoc_sql_more_statements_and_errors(query_db: str) -> None:
    result = q(query_db, "--sql", "SELECT 1; DELETE FROM requests")
    assert (result.exit_code, result.stderr) == (
        2,
        "regwatch: error: --sql: give exactly one statement (got 2)\n",
    )
    result = q(query_db, "--sql", "SELECT * FROM no_such_table")
    assert result.exit_code == 2 and result.stderr.startswith(
        "regwatch: error: --sql: Catalog Error: Table with name"
    )
    assert len(result.stderr.splitlines()) == 1


def test_the_store_itself_refuses_writes_on_the_query_connection(query_db: str) -> None:
    # belt and braces: even a statement that slipped past the SELECT check meets a read-only store
    with connect(query_db, read_only=True) as store, pytest.raises(Exception, match="read-only"):
        store.execute("DELETE FROM requests")


def test_table_and_json_formats(query_db: str) -> None:
    result = q(query_db, "top-failing-repos", "--param", "limit=1")
    assert result.stdout.splitlines() == [
        "REPOSITORY     REQUESTS  FAILURES  FAILURE_RATIO  5XX  429  CLIENT_ERRORS  FIRST_FAILURE         LAST_FAILURE",
        "platform/base  12        2         0.166667       2    0    1              2026-11-20T10:03:00Z  2026-11-20T10:04:00Z",
    ]
    assert q(query_db, "who-pulled", "--param", "repository=team/app").stdout == "(no rows)\n"
    assert q(query_db, "who-pulled", "--param", "repository=team/app", "--format", "json").stdout == "[]\n"


def test_library_api(query_db: str) -> None:
    assert load_query("who-pulled").one_of == ("repository", "digest")
    with connect(query_db, read_only=True) as store:
        res = run_query(store, "slowest-manifests", {"limit": "1"}, since=datetime(2026, 11, 20))
        assert res.columns[0] == "ts" and [r[-1] for r in res.rows] == ["r8"]
