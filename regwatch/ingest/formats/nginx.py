"""nginx access logs: the parser is built from the ``log_format`` string itself (as GoAccess does).

A plain format becomes one anchored regular expression with a group per variable; an
``escape=json`` format (a JSON object template) becomes a list of JSON keys. Either way the
per-batch macros ``rw_nginx_match(raw)`` / ``rw_nginx_pick(m)`` give every supported variable and
``sql/nginx.sql`` turns them into request rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from regwatch.errors import ConfigError
from regwatch.ingest.formats import sql_statements

TARGET = "requests"

COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
NAMED = {
    "combined": COMBINED,
    "main": COMBINED + ' "$http_x_forwarded_for"',
    "common": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent',
}
SUPPORTED = (
    "remote_addr", "remote_user", "time_local", "time_iso8601", "msec", "request", "request_method",
    "request_uri", "status", "body_bytes_sent", "bytes_sent", "http_referer", "http_user_agent",
    "request_time", "upstream_response_time", "upstream_cache_status", "host", "request_id",
)  # fmt: skip
_VAR = re.compile(r"\$(\w+)|\$\{(\w+)\}")
# what a variable's value can look like; anything not listed matches lazily up to the next literal
_PIECE = {
    "status": r"(\d{3})",
    "body_bytes_sent": r"(\d+|-)",
    "bytes_sent": r"(\d+|-)",
    "msec": r"(\d+(?:\.\d+)?)",
    "request_time": r"(\d+(?:\.\d+)?|-)",
    "time_local": r"([^\]]+)",
    "remote_addr": r"(\S+)",
}


@dataclass(frozen=True)
class CompiledFormat:
    """A log_format turned into a matcher."""

    json: bool
    pattern: str | None  # plain: the anchored RE2 pattern (first group: the whole line)
    variables: tuple[str, ...]  # plain: variable of each group after the first; json: of each key
    keys: tuple[str, ...] = ()  # json: the key holding each variable


def compile_format(log_format: str | None) -> CompiledFormat:
    """Compile an nginx ``log_format`` string (or a predefined name such as ``combined``)."""
    text = (log_format or "combined").strip()
    text = NAMED.get(text, text)
    json_mode = False
    m = re.match(r"^escape=(\w+)\s+", text)
    if m:
        json_mode = m.group(1) == "json"
        text = text[m.end() :]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if json_mode or (text.startswith("{") and text.endswith("}")):
        pairs = re.findall(r'"([^"]+)"\s*:\s*"?\$\{?(\w+)\}?"?', text)
        if not pairs:
            raise ConfigError(f'log_format: no "key": "$variable" pairs in JSON format {text!r}')
        return CompiledFormat(True, None, tuple(v for _, v in pairs), tuple(k for k, _ in pairs))
    parts: list[str] = []
    variables: list[str] = []
    pos = 0
    for vm in _VAR.finditer(text):
        parts.append(re.escape(text[pos : vm.start()]))
        name = vm.group(1) or vm.group(2)
        variables.append(name)
        parts.append(_PIECE.get(name, r"(.*?)"))
        pos = vm.end()
    parts.append(re.escape(text[pos:]))
    if not variables:
        raise ConfigError(f"log_format: no $variables in {text!r}")
    pattern = "^(" + "".join(parts) + ")$"
    return CompiledFormat(False, pattern, tuple(variables))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def macros_sql(fmt: CompiledFormat) -> list[str]:
    """The two per-batch macros for this format (string literals quoted, nothing else interpolated)."""
    if fmt.json:
        paths = ", ".join(_literal('$."' + k.replace('"', '\\"') + '"') for k in fmt.keys)
        match = f"CASE WHEN json_valid(raw) THEN json_extract_string(raw, [{paths}]) END"
        index = {v: i + 1 for i, v in reversed(list(enumerate(fmt.variables)))}
        pick = {v: f"m[{index[v]}]" for v in SUPPORTED if v in index}
        ok = "m IS NOT NULL"
    else:
        assert fmt.pattern is not None
        names = ["g_all"] + [f"g{i}" for i in range(len(fmt.variables))]
        match = f"regexp_extract(raw, {_literal(fmt.pattern)}, [{', '.join(_literal(n) for n in names)}])"
        first = {v: i for i, v in reversed(list(enumerate(fmt.variables)))}
        pick = {v: f"replace(m.g{first[v]}, '\\x22', '\"')" for v in SUPPORTED if v in first}
        ok = "m.g_all <> ''"
    fields = ", ".join(
        f"{v} := " + (f"nullif(nullif({pick[v]}, '-'), '')" if v in pick else "CAST(NULL AS VARCHAR)")
        for v in SUPPORTED
    )
    return [
        f"CREATE OR REPLACE TEMP MACRO rw_nginx_match(raw) AS {match}",
        f"CREATE OR REPLACE TEMP MACRO rw_nginx_pick(m) AS CASE WHEN {ok} THEN struct_pack({fields}) END",
    ]


def run(
    conn: duckdb.DuckDBPyConnection,
    *,
    registry: str,
    region: str,
    source: str,
    carry: str | None,
    options: dict[str, Any],
) -> str | None:
    """Parse the batch in ``rw_raw`` with the configured log_format."""
    for stmt in macros_sql(compile_format(options.get("log_format"))):
        conn.execute(stmt)
    params = {"registry": registry, "region": region, "source": source}
    for stmt in sql_statements("nginx"):
        conn.execute(stmt, {k: v for k, v in params.items() if f"${k}" in stmt})
    return None
