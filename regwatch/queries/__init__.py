"""The library of named postmortem queries, and ad-hoc read-only SQL over the store.

Each named query is one ``.sql`` file in this package whose header comment declares it::

    -- name: who-pulled
    -- description: Which clients and users pulled a repository or a digest, when and how often.
    -- param: repository (text, optional): exact repository name
    -- param: limit (int, default 20): rows to return
    -- one-of: repository, digest

Every query may also use ``$since`` and ``$until`` (a half-open ``[since, until)`` time range, UTC);
they are bound to the widest range when not given. The SLO engine's classification macros
(``rw_outcome``, ``rw_kind``, ``rw_egress_bytes``, ``rw_auth_failure``, ``rw_requests``: see
``regwatch/slo/sql/classify.sql``) are installed first, so queries count pulls, failures and egress
exactly as docs/slis.md defines them, and ad-hoc SQL can use them too. Values are always bound as parameters of the
prepared statement, never pasted into the SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import duckdb

from regwatch.errors import QueryError
from regwatch.store import Store
from regwatch.timeutil import parse_duration, parse_time

#: Bound when --since / --until are not given: wider than any timestamp regwatch stores.
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2200, 1, 1)

PARAM_TYPES = ("text", "int", "float", "time", "duration")
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_PARAM_LINE = re.compile(
    r"^(?P<name>[a-z_][a-z0-9_]*) \((?P<type>[a-z]+)(?:, (?:(?P<optional>optional)|default (?P<default>[^)]+)))?\)"
    r": (?P<help>.+)$"
)
_PLACEHOLDER = re.compile(r"\$([a-z_][a-z0-9_]*)")


class QueryUsageError(QueryError):
    """The query was asked for wrongly (unknown name, bad parameter, a write): exit 2."""

    exit_code = 2


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter of a named query."""

    name: str
    type: str
    help: str
    required: bool = True
    default: str | None = None

    def convert(self, text: str, *, now: datetime | None = None) -> Any:
        """Turn the command-line text into the value bound to ``$name``."""
        try:
            if self.type == "int":
                return int(text.strip())
            if self.type == "float":
                return float(text.strip())
            if self.type == "time":
                return naive_utc(parse_time(text, now=now))
            if self.type == "duration":
                return parse_duration(text)
        except ValueError as exc:
            detail = (
                f"not {'an integer' if self.type == 'int' else 'a number'}: {text!r}"
                if self.type in ("int", "float")
                else str(exc)
            )
            raise QueryUsageError(f"--param {self.name}: {detail}") from None
        return text

    def describe(self) -> str:
        """Say how the parameter is given, e.g. ``limit=INT (default 20)``."""
        tail = " (optional)" if not self.required and self.default is None else ""
        if self.default is not None:
            tail = f" (default {self.default})"
        return f"{self.name}={self.type.upper()}{tail}"


@dataclass(frozen=True)
class NamedQuery:
    """A named query: its header and its SQL text."""

    name: str
    description: str
    sql: str
    params: tuple[QueryParam, ...] = ()
    one_of: tuple[str, ...] = ()
    placeholders: frozenset[str] = field(default_factory=frozenset)

    def param(self, name: str) -> QueryParam | None:
        """Return the declared parameter called ``name``."""
        return next((p for p in self.params if p.name == name), None)


def naive_utc(dt: datetime) -> datetime:
    """Return ``dt`` as a naive datetime in UTC (how the store keeps timestamps)."""
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def parse_query(filename: str, text: str) -> NamedQuery:
    """Parse one ``.sql`` file's header comment; raise QueryError naming the file and line."""
    header: dict[str, str] = {}
    params: list[QueryParam] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line.startswith("--"):
            break
        m = re.match(r"^--\s*([a-z-]+):\s*(.*)$", line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "param":
            pm = _PARAM_LINE.match(value)
            if not pm or pm.group("type") not in PARAM_TYPES:
                raise QueryError(
                    f"{filename}:{lineno}: malformed param line (want: NAME (TYPE[, optional]): help)"
                )
            params.append(
                QueryParam(
                    name=pm.group("name"),
                    type=pm.group("type"),
                    help=pm.group("help"),
                    required=not (pm.group("optional") or pm.group("default") is not None),
                    default=pm.group("default"),
                )
            )
        else:
            header[key] = value
    name = header.get("name", "")
    if not _NAME.match(name) or not header.get("description"):
        raise QueryError(f"{filename}: header needs '-- name:' (kebab-case) and '-- description:'")
    one_of = tuple(p.strip() for p in header.get("one-of", "").split(",") if p.strip())
    declared = {p.name for p in params} | {"since", "until"}
    placeholders = frozenset(_PLACEHOLDER.findall(_strip_comments(text)))
    undeclared = sorted(placeholders - declared)
    if undeclared:
        raise QueryError(f"{filename}: uses undeclared parameter(s) {', '.join('$' + u for u in undeclared)}")
    unknown = sorted(set(one_of) - declared)
    if unknown:
        raise QueryError(f"{filename}: one-of names undeclared parameter(s) {', '.join(unknown)}")
    return NamedQuery(name, header["description"], text, tuple(params), one_of, placeholders)


def list_queries() -> list[NamedQuery]:
    """Return every named query shipped with regwatch, sorted by name."""
    out = []
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".sql"):
            out.append(parse_query(entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out, key=lambda q: q.name)


def load_query(name: str) -> NamedQuery:
    """Return the named query ``name``; raise QueryUsageError listing the names when unknown."""
    queries = {q.name: q for q in list_queries()}
    if name not in queries:
        raise QueryUsageError(f"unknown query {name!r} (known: {', '.join(sorted(queries))})")
    return queries[name]


def bind_params(
    query: NamedQuery,
    given: dict[str, str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check and convert the given ``k=v`` texts; return the values for the query's placeholders."""
    for key in given:
        if key in ("since", "until"):
            raise QueryUsageError(f"--param {key}: use --{key} instead")
        if query.param(key) is None:
            known = ", ".join(p.name for p in query.params) or "none"
            raise QueryUsageError(f"query {query.name}: unknown parameter {key!r} (parameters: {known})")
    values: dict[str, Any] = {}
    for p in query.params:
        if p.name in given:
            values[p.name] = p.convert(given[p.name], now=now)
        elif p.default is not None:
            values[p.name] = p.convert(p.default, now=now)
        elif p.required:
            raise QueryUsageError(f"query {query.name}: missing --param {p.name}=... ({p.help})")
        else:
            values[p.name] = None
    if query.one_of and all(values.get(n) is None for n in query.one_of):
        alts = " or ".join(f"--param {n}=..." for n in query.one_of)
        raise QueryUsageError(f"query {query.name}: give {alts}")
    values["since"] = naive_utc(since) if since is not None else EARLIEST
    values["until"] = naive_utc(until) if until is not None else LATEST
    if values["since"] >= values["until"]:
        raise QueryUsageError("--since must be before --until")
    return {k: v for k, v in values.items() if k in query.placeholders}


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """Return the rows as dicts keyed by column name."""
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def _fetch(store: Store, sql: str, params: dict[str, Any] | None, what: str) -> QueryResult:
    from regwatch.slo._sql import install_macros

    install_macros(store)  # the classification macros of docs/slis.md (TEMP: fine on a read-only store)
    try:
        cur = store.execute(sql, params)
        columns = [d[0] for d in cur.description or []]
        return QueryResult(columns, cur.fetchall())
    except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException) as exc:
        raise QueryUsageError(f"{what}: {_one_line(exc)}") from None
    except duckdb.Error as exc:
        raise QueryError(f"{what}: {_one_line(exc)}") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def run_query(
    store: Store,
    name: str,
    params: dict[str, str] | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> QueryResult:
    """Run the named query with its parameters bound."""
    query = load_query(name)
    values = bind_params(query, params or {}, since=since, until=until, now=now)
    return _fetch(store, query.sql, values, f"query {name}")


def check_read_only_sql(sql: str, conn: duckdb.DuckDBPyConnection | None = None) -> str:
    """Return ``sql`` if it is exactly one SELECT statement; raise QueryUsageError otherwise."""
    try:
        statements = (conn or duckdb.connect(":memory:")).extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryUsageError(f"--sql: {_one_line(exc)}") from None
    if len(statements) != 1:
        raise QueryUsageError(f"--sql: give exactly one statement (got {len(statements)})")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryUsageError(
            f"--sql: refused {kind.name} statement: only SELECT queries run here, on a read-only store"
        )
    return sql


def run_sql(store: Store, sql: str) -> QueryResult:
    """Run one ad-hoc SELECT (the store should be opened read-only as well)."""
    return _fetch(store, check_read_only_sql(sql, store.conn), None, "--sql")
