"""nginx access logs: the parser is built from the ``log_format`` string itself (as GoAccess does).

A plain format becomes an anchored regular expression with a group per variable, in two forms: a
strict one that RE2 extracts in one pass, tried first, and the general one for the lines the strict one
does not match. Where every value stops at the literal after it, a line the strict one matches (a DFA
test, without groups) is cut with string functions instead (``match_sql``). An ``escape=json`` format
(a JSON object template) becomes a list of JSON keys. Either way the per-batch macros
``rw_nginx_match(raw)``, ``rw_nginx_retry(raw, m)`` and ``rw_nginx_pick(m)`` give every supported
variable and ``sql/nginx.sql`` turns them into request rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from regwatch.errors import ConfigError
from regwatch.ingest.formats import sql_statements
from regwatch.ingest.reader import MARKER

TARGET = "requests"
_MARKER = MARKER.decode()  # a line the reader refused
_MATCH = "/*match*/"  # where sql/nginx.sql takes the lines and their matches (match_sql)

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
# whether a character ends the value of a typed variable: followed by a literal starting with it, the
# variable's piece can match in one way only (a condition of the strict pattern, see CompiledFormat)
_STOPS = {
    "status": lambda c: True,  # three digits
    "body_bytes_sent": lambda c: not c.isdigit(),
    "bytes_sent": lambda c: not c.isdigit(),
    "msec": lambda c: not (c.isdigit() or c == "."),
    "request_time": lambda c: not (c.isdigit() or c == "."),
    "time_local": lambda c: c == "]",
    "remote_addr": lambda c: c.isspace(),
}


# whether a character can never occur in a typed variable's value: then the value of a line the strict
# pattern matches ends at the first occurrence of the literal that follows it (the fast cut, see
# CompiledFormat.check)
_NOT_IN = {
    "status": lambda c: not c.isdigit(),
    "body_bytes_sent": lambda c: not c.isdigit() and c != "-",
    "bytes_sent": lambda c: not c.isdigit() and c != "-",
    "msec": lambda c: not c.isdigit() and c != ".",
    "request_time": lambda c: not c.isdigit() and c not in ".-",
    "time_local": lambda c: c == "]",
    "remote_addr": lambda c: c.isspace(),
}


@dataclass(frozen=True)
class CompiledFormat:
    """A log_format turned into a matcher."""

    json: bool
    pattern: str | None  # plain: the anchored RE2 pattern (first group: the whole line)
    variables: tuple[str, ...]  # plain: variable of each group after the first; json: of each key
    keys: tuple[str, ...] = ()  # json: the key holding each variable
    # plain: `pattern` with each lazy (.*?) made a class that stops at the first character of the literal
    # that follows (the last variable: the rest of the line), so that RE2 extracts the groups in one
    # pass, at about half the cost. When every piece of it is followed by a literal it cannot run into
    # (or by the end), it cuts a line in one way only, and a line it matches gets the groups `pattern`
    # gives (each lazy group of `pattern` ends at the first place where the rest can match: that
    # literal's first occurrence); other lines are matched with `pattern`. Otherwise it is `pattern`.
    strict: str | None = None
    # plain, when each variable but the last is followed by a literal that cannot occur in its value:
    # `strict` without its groups (RE2 then needs its DFA alone, about a fifth of the cost of extracting
    # the groups), and the literals around the variables (the first before the first variable, then the
    # one after each). A line it matches is cut with string functions: a value ends at the first
    # occurrence of the literal after it (the last at the literal that ends the line), which is where
    # `strict` ends its group. None otherwise.
    check: str | None = None
    literals: tuple[str, ...] = ()


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
    matches = list(_VAR.finditer(text))
    if not matches:
        raise ConfigError(f"log_format: no $variables in {text!r}")
    parts: list[str] = []
    strict: list[str] = []
    check: list[str] = []  # strict without groups
    literals: list[str] = []
    one_way = True  # whether the strict pattern can cut a line in one way only
    cuttable = True  # whether a line it matches can be cut at the literals' first occurrences
    variables: list[str] = []
    pos = 0
    for i, vm in enumerate(matches):
        literal = re.escape(text[pos : vm.start()])
        parts.append(literal)
        strict.append(literal)
        check.append(literal)
        literals.append(text[pos : vm.start()])
        name = vm.group(1) or vm.group(2)
        variables.append(name)
        parts.append(_PIECE.get(name, r"(.*?)"))
        # the strict piece: up to the first character of the literal that follows (nginx escapes '"' in
        # values, so a quoted value holds none), the rest of the line for the last variable
        follows = text[vm.end() : matches[i + 1].start() if i + 1 < len(matches) else len(text)]
        last = i + 1 == len(matches)
        if name in _PIECE:
            strict.append(_PIECE[name])
            check.append("(?:" + _PIECE[name][1:])
            one_way = one_way and (last or (bool(follows) and _STOPS[name](follows[0])))
            cuttable = cuttable and (last or (bool(follows) and _NOT_IN[name](follows[0])))
        else:
            strict.append(f"([^{re.escape(follows[0])}]*)" if follows else "(.*)")
            check.append(f"[^{re.escape(follows[0])}]*" if follows else ".*")
            one_way = one_way and (last or bool(follows))
        pos = vm.end()
    parts.append(re.escape(text[pos:]))
    strict.append(re.escape(text[pos:]))
    check.append(re.escape(text[pos:]))
    literals.append(text[pos:])
    pattern = "^(" + "".join(parts) + ")$"
    if not one_way:
        return CompiledFormat(False, pattern, tuple(variables), strict=pattern)
    fast = cuttable and all(literals[1:-1])  # one_way: every literal between two variables is there
    return CompiledFormat(
        False, pattern, tuple(variables), strict="^(" + "".join(strict) + ")$",
        check="^" + "".join(check) + "$" if fast else None, literals=tuple(literals) if fast else (),
    )  # fmt: skip


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def match_sql(fmt: CompiledFormat) -> str:
    """SQL for ``(line, raw, m)``: the lines of ``rw_raw`` that hold something, with ``m`` as
    ``rw_nginx_retry(raw, rw_nginx_match(raw))`` would give it (``rw_nginx_pick(m)`` takes it on).

    With ``fmt.check``, the lines that match it are cut with string functions, a subquery a step (the
    cut of a value starts where the one before ended; one expression would repeat them all); the others
    go through the macros.
    """
    sql = f"SELECT line, raw FROM rw_raw WHERE raw IS NOT NULL AND raw <> '' AND raw <> {_literal(_MARKER)}"
    if fmt.check is None:  # a JSON format, or one that cannot be cut at its literals
        sql = f"SELECT line, raw, rw_nginx_match(raw) AS m FROM ({sql})"
    else:
        lead, *after = fmt.literals
        # r: the rest of the line after the literal before the value being cut
        sql = (
            f"SELECT line, raw, regexp_matches(raw, {_literal(fmt.check)}) AS ok, "
            f"substr(raw, {len(lead) + 1}) AS r FROM ({sql})"
        )
        n = len(fmt.variables)
        for i, lit in enumerate(after):
            if i + 1 == n:  # the last value: the rest but the literal that ends the line
                value = f"left(r, length(r) - {len(lit)})" if lit else "r"
                sql = f"SELECT * EXCLUDE (r), {value} AS v{i} FROM ({sql})"
            else:
                sql = f"SELECT *, strpos(r, {_literal(lit)}) AS e FROM ({sql})"
                sql = f"SELECT * EXCLUDE (r, e), left(r, e - 1) AS v{i}, substr(r, e + {len(lit)}) AS r FROM ({sql})"
        fields = ", ".join(["g_all := raw"] + [f"g{i} := v{i}" for i in range(n)])
        sql = f"SELECT line, raw, CASE WHEN ok THEN struct_pack({fields}) ELSE rw_nginx_match(raw) END AS m FROM ({sql})"
    # each macro gets a column: they repeat their argument, inside CASE branches that share nothing
    return f"SELECT line, raw, rw_nginx_retry(raw, m) AS m FROM ({sql})"


def macros_sql(fmt: CompiledFormat) -> list[str]:
    """The per-batch macros for this format (string literals quoted, nothing else interpolated)."""
    if fmt.json:
        paths = ", ".join(_literal('$."' + k.replace('"', '\\"') + '"') for k in fmt.keys)
        match = f"CASE WHEN json_valid(raw) THEN json_extract_string(raw, [{paths}]) END"
        index = {v: i + 1 for i, v in reversed(list(enumerate(fmt.variables)))}
        pick = {v: f"m[{index[v]}]" for v in SUPPORTED if v in index}
        ok = "m IS NOT NULL"
        retry, pick_sql = "m", f"CASE WHEN {ok} THEN {_struct(pick)} END"
    else:
        assert fmt.pattern is not None
        names = ["g_all"] + [f"g{i}" for i in range(len(fmt.variables))]
        groups = f"[{', '.join(_literal(n) for n in names)}]"
        assert fmt.strict is not None
        match = f"regexp_extract(raw, {_literal(fmt.strict)}, {groups})"
        retry = (
            "m" if fmt.strict == fmt.pattern
            else f"CASE WHEN m.g_all <> '' THEN m ELSE regexp_extract(raw, {_literal(fmt.pattern)}, {groups}) END"
        )  # fmt: skip
        first = {v: i for i, v in reversed(list(enumerate(fmt.variables)))}
        pick = {v: f"m.g{first[v]}" for v in SUPPORTED if v in first}
        # nginx writes '"' in a value as \x22; a line without any keeps its values as they are
        decoded = {v: f"replace({g}, '\\x22', '\"')" for v, g in pick.items()}
        ok = "m.g_all IS DISTINCT FROM ''"  # no match: regexp_extract gives '' for every group
        pick_sql = (
            f"CASE WHEN NOT ({ok}) THEN NULL WHEN contains(m.g_all, '\\x22') THEN {_struct(decoded)} "
            f"ELSE {_struct(pick)} END"
        )
    return [
        f"CREATE OR REPLACE TEMP MACRO rw_nginx_match(raw) AS {match}",
        f"CREATE OR REPLACE TEMP MACRO rw_nginx_retry(raw, m) AS {retry}",
        f"CREATE OR REPLACE TEMP MACRO rw_nginx_pick(m) AS {pick_sql}",
        # whether rw_nginx_pick(m) is not NULL (the condition its CASE tests): a NULL test of the struct
        # itself reads all of its fields
        f"CREATE OR REPLACE TEMP MACRO rw_nginx_ok(m) AS {ok}",
    ]


def _struct(pick: dict[str, str]) -> str:
    """Every supported variable from its SQL expression (NULL when absent, '-' or empty)."""
    return (
        "struct_pack("
        + ", ".join(
            f"{v} := " + (f"nullif(nullif({pick[v]}, '-'), '')" if v in pick else "CAST(NULL AS VARCHAR)")
            for v in SUPPORTED
        )
        + ")"
    )


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
    fmt = compile_format(options.get("log_format"))
    for stmt in macros_sql(fmt):
        conn.execute(stmt)
    params = {"registry": registry, "region": region, "source": source}
    match = match_sql(fmt)
    for stmt in (s.replace(_MATCH, match) for s in sql_statements("nginx")):
        conn.execute(stmt, {k: v for k, v in params.items() if f"${k}" in stmt})
    return None
