-- Macros shared by every log format: route classification, repository/reference/digest extraction
-- from a request URI, Go durations, client addresses and time stamps. Loaded once per connection.

-- The parts of a /v2/ API path: repository, endpoint kind and what follows it. Exactly what
--   regexp_extract(path, '^/v2/(.+?)/(manifests|blobs/uploads|blobs|tags|referrers)(?:/(.*))?$',
--                  ['repo', 'kind', 'rest'])
-- gives ('' in each part of a path it does not match; NULL parts for a NULL path), at about half the
-- cost: capture groups make RE2 run its slow matchers, while the same regex without them (rw_v2_head:
-- the path up to its endpoint kind and the slash after it) needs its DFA alone; string functions then
-- cut the head apart. rw_v2_head(path) is never inside a CASE branch: DuckDB computes the repeated
-- expression once per row, but not there ('rest' skips past the whole path when there is no head
-- instead; rw_v2_kind's CASE holds it in its conditions only).
-- tests/ingest/test_macros.py compares the two on generated paths.
CREATE OR REPLACE TEMP MACRO rw_v2_head(path) AS
    regexp_extract(path, '^/v2/.+?/(?:manifests|blobs/uploads|blobs|tags|referrers)(?:/|$)', 0);
CREATE OR REPLACE TEMP MACRO rw_v2_trim(h) AS  -- the head without its last slash (rtrim costs twice this)
    substr(h, 1, length(h) - CAST(ends_with(h, '/') AS INTEGER));
CREATE OR REPLACE TEMP MACRO rw_v2_kind(t) AS CASE  -- t: the head without its last slash; ends_with is cheap
    WHEN ends_with(t, '/manifests') THEN 'manifests' WHEN ends_with(t, '/uploads') THEN 'blobs/uploads'
    WHEN ends_with(t, '/blobs') THEN 'blobs' WHEN ends_with(t, '/tags') THEN 'tags'
    WHEN ends_with(t, '/referrers') THEN 'referrers' WHEN t = '' THEN ''
END;
CREATE OR REPLACE TEMP MACRO rw_v2_parts(path) AS {
    'repo': substr(rw_v2_head(path), 5,
                   length(rw_v2_trim(rw_v2_head(path))) - 5 - length(rw_v2_kind(rw_v2_trim(rw_v2_head(path))))),
    'kind': rw_v2_kind(rw_v2_trim(rw_v2_head(path))),
    'rest': substr(path, length(rw_v2_head(path)) + 1 + CAST(rw_v2_head(path) = '' AS INTEGER) * length(path))
};

-- An OCI digest (algorithm:encoded), as the distribution spec's grammar allows.
CREATE OR REPLACE TEMP MACRO rw_is_digest(s) AS regexp_full_match(coalesce(s, ''), '[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+');

-- Route of a request path: ping manifest blob blob_upload tags catalog referrers token other.
CREATE OR REPLACE TEMP MACRO rw_route_of(path, p) AS CASE
    WHEN path IN ('/v2', '/v2/') THEN 'ping'
    WHEN path = '/v2/_catalog' THEN 'catalog'
    WHEN p.kind = 'manifests' AND p.rest <> '' AND NOT contains(p.rest, '/') THEN 'manifest'
    WHEN p.kind = 'blobs' AND p.rest <> '' AND NOT contains(p.rest, '/') THEN 'blob'
    WHEN p.kind = 'blobs/uploads' THEN 'blob_upload'
    WHEN p.kind = 'tags' AND p.rest = 'list' THEN 'tags'
    WHEN p.kind = 'referrers' AND p.rest <> '' AND NOT contains(p.rest, '/') THEN 'referrers'
    -- after the API kinds, which no token path has (so this regex runs on few rows)
    WHEN regexp_full_match(path, '/(?:v2/)?(?:token|auth|oauth2/token|service/token|jwt/auth)/?') THEN 'token'
    ELSE 'other'
END;

-- Repository, reference and digest of a request whose route is known (p = rw_v2_parts(path)).
CREATE OR REPLACE TEMP MACRO rw_repository(route, p) AS
    CASE WHEN route IN ('manifest', 'blob', 'blob_upload', 'tags', 'referrers') THEN left(p.repo, 256) END;
CREATE OR REPLACE TEMP MACRO rw_reference(route, p) AS
    CASE WHEN route IN ('manifest', 'referrers', 'blob') THEN left(p.rest, 256) END;
CREATE OR REPLACE TEMP MACRO rw_digest(route, p, uri) AS CASE
    WHEN route IN ('blob', 'referrers', 'manifest') AND rw_is_digest(p.rest) THEN p.rest
    WHEN route = 'blob_upload' AND contains(uri, 'digest=')
        THEN nullif(replace(replace(regexp_extract(uri, '[?&]digest=([^&]+)', 1), '%3A', ':'), '%3a', ':'), '')
END;

-- The kind of a logrus record (JSON or text; msg: how its message key is written, '"msg":"' or
-- ' msg="'): 'done' when it holds msg || 'response completed' (a "response completed" record), else
-- 'authfail' when it holds msg || 'error authorizing context' (the warning of a refused authorization),
-- else 'other'. A substring test with a needle that starts with a space picks the candidates first
-- (spaces are rare in these lines, so the search skips fast; a needle that starts with '"' costs twice
-- as much); the exact needles then run on the few candidates only (CASE evaluates a branch only on the
-- rows that reach it).
CREATE OR REPLACE TEMP MACRO rw_record_kind(raw, msg) AS CASE
    WHEN NOT contains(raw, ' completed') THEN
        CASE WHEN NOT contains(raw, ' authorizing') THEN 'other'
             WHEN contains(raw, msg || 'error authorizing context') THEN 'authfail'
             ELSE 'other' END
    WHEN contains(raw, msg || 'response completed') THEN 'done'
    WHEN contains(raw, msg || 'error authorizing context') THEN 'authfail'
    ELSE 'other'
END;

-- Any Go duration: the units summed as exact nanoseconds first.
CREATE OR REPLACE TEMP MACRO rw_go_duration_any(d) AS CASE
    WHEN regexp_full_match(d, '-?(?:[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|μs|ms|s|m|h))+')
    THEN (CASE WHEN starts_with(d, '-') THEN -1 ELSE 1 END) * CAST(list_sum(list_transform(
        regexp_extract_all(d, '([0-9]+(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)', 0),
        lambda x: CAST(CAST(regexp_extract(x, '^[0-9.]+') AS DECIMAL(38, 9)) * CASE regexp_extract(x, '[a-zµμ]+$')
            WHEN 'ns' THEN 1 WHEN 'us' THEN 1000 WHEN 'µs' THEN 1000 WHEN 'μs' THEN 1000
            WHEN 'ms' THEN 1000000 WHEN 's' THEN 1000000000 WHEN 'm' THEN 60000000000
            ELSE 3600000000000 END AS HUGEINT)
    )) AS DOUBLE) / 1e9
END;

-- A Go time.Duration string (1m2.5s, 4.538778ms, 850ns, 12µs, 0s) in seconds: the double nearest the
-- written value, rounded to the nanosecond (a Go duration is a count of nanoseconds). Fast path: one
-- unit, the common case (the decimal cast fails when another unit precedes it, and a DECIMAL(18, 9)
-- times 1e6 as a double is within far less than half a nanosecond of the exact count, so rounding gives
-- it exactly). Other strings take rw_go_duration_any; a value too big for any count is NULL, not an error.
CREATE OR REPLACE TEMP MACRO rw_go_duration(d) AS CASE
    WHEN d IS NULL THEN NULL
    ELSE coalesce(
        round(CAST(CASE WHEN ends_with(d, 'ms') THEN TRY_CAST(left(d, -2) AS DECIMAL(18, 9))
                        WHEN ends_with(d, 'µs') THEN TRY_CAST(left(d, -2) AS DECIMAL(18, 9)) / 1000
                        WHEN ends_with(d, 'ns') THEN NULL
                        WHEN ends_with(d, 's') THEN TRY_CAST(left(d, -1) AS DECIMAL(18, 9)) * 1000
                   END AS DOUBLE) * 1e6) / 1e9,
        try(rw_go_duration_any(d)))
END;

-- Address without its port: 10.0.0.1:5000 -> 10.0.0.1, [::1]:5000 -> ::1, ::1 -> ::1.
CREATE OR REPLACE TEMP MACRO rw_strip_port(a) AS CASE
    WHEN a IS NULL OR a = '' OR a = '-' THEN NULL
    WHEN starts_with(a, '[') THEN regexp_extract(a, '^\[([^\]]*)\]', 1)
    WHEN a LIKE '%:%:%' OR NOT contains(a, ':') THEN a  -- IPv6 without brackets, or no port
    ELSE left(a, strpos(a, ':') - 1)
END;

-- An RFC 3339 time with any offset -> naive UTC TIMESTAMP (microseconds; NULL when unparsable). The
-- instant's microseconds since the epoch make the UTC wall time directly: half the cost of
-- timezone('UTC', ...), which goes through ICU.
CREATE OR REPLACE TEMP MACRO rw_utc(s) AS make_timestamp(epoch_us(TRY_CAST(s AS TIMESTAMPTZ)));

-- An Apache/nginx $time_local (27/Nov/2026:20:52:20 +0100) -> naive UTC TIMESTAMP.
CREATE OR REPLACE TEMP MACRO rw_utc_clf(s) AS make_timestamp(epoch_us(try_strptime(s, '%d/%b/%Y:%H:%M:%S %z')));

-- What a completion record of distribution tells: time, request id, method, URI, client, user agent,
-- status, bytes, duration, user. rw_completion(doc): a struct of them, fields named by their JSON keys,
-- from a JSON text (a struct field costs nothing to read; elements of json_extract_string's list are
-- copied out one by one). rw_completion_fields(): their JSON paths, in the struct's order, and
-- rw_completion_of(list): the struct from the values of those paths in a list (a macro repeats its
-- argument, here eleven times: pass a column, not an expression, or the expression runs eleven times).
CREATE OR REPLACE TEMP MACRO rw_completion(doc) AS from_json(doc,
    '{"time": "VARCHAR", "http.request.id": "VARCHAR", "http.request.method": "VARCHAR",
      "http.request.uri": "VARCHAR", "http.request.remoteaddr": "VARCHAR", "http.request.useragent": "VARCHAR",
      "http.response.status": "VARCHAR", "http.response.written": "VARCHAR", "http.response.duration": "VARCHAR",
      "auth.user.name": "VARCHAR"}');
CREATE OR REPLACE TEMP MACRO rw_completion_fields() AS [
    '$."time"', '$."http.request.id"', '$."http.request.method"', '$."http.request.uri"',
    '$."http.request.remoteaddr"', '$."http.request.useragent"', '$."http.response.status"',
    '$."http.response.written"', '$."http.response.duration"', '$."auth.user.name"'];
CREATE OR REPLACE TEMP MACRO rw_completion_of(v) AS CASE WHEN v IS NOT NULL THEN {
    'time': v[1], 'http.request.id': v[2], 'http.request.method': v[3], 'http.request.uri': v[4],
    'http.request.remoteaddr': v[5], 'http.request.useragent': v[6], 'http.response.status': v[7],
    'http.response.written': v[8], 'http.response.duration': v[9], 'auth.user.name': v[10]} END;

-- The fields of a logrus text (logfmt) record, as json_extract_string gives those of a JSON record:
-- `paths` are JSON paths of top-level keys ('$."http.request.uri"'). A record is a sequence of tokens
-- key=value separated by single spaces; a value is bare (no space or quote) or a double-quoted Go string
-- (\" and \\ decoded, other escapes kept as written). The first token of a key wins; an empty value,
-- quoted or not, is no value (NULL), and so is a quoted value that is not closed (a cut record).
-- Fast path: a record of that plain shape without backslashes or control bytes (what the registry
-- prints, but for the odd escaped quote) is rewritten into the JSON object it stands for — its quoted
-- values hold no quote, so splitting at quotes gives bare and quoted parts in turn — and parsed once.
-- Any other record is cut into its tokens with one regex (a few times slower).
CREATE OR REPLACE TEMP MACRO rw_logfmt_plain(line) AS regexp_full_match(line,
    '[^ ="\\\x00-\x1f]+=(?:"[^"\\\x00-\x1f]*"|[^ "=\\\x00-\x1f]*)(?: [^ ="\\\x00-\x1f]+=(?:"[^"\\\x00-\x1f]*"|[^ "=\\\x00-\x1f]*))*');
-- (An empty value becomes "" in that object, and NULL once extracted: a replace over the whole object
-- would cost a quarter of the rewrite.)
CREATE OR REPLACE TEMP MACRO rw_logfmt_json(line) AS
    '{"' || array_to_string(list_transform(string_split(line, '"'), lambda s, i: CASE WHEN i % 2 = 0 THEN s
                                           ELSE replace(replace(s, ' ', '","'), '=', '":"') END), '') || '"}';
CREATE OR REPLACE TEMP MACRO rw_logfmt_value(token, key_length) AS CASE
    WHEN token IS NULL OR length(token) = key_length + 1 THEN NULL
    WHEN NOT starts_with(substr(token, key_length + 2), '"') THEN substr(token, key_length + 2)
    WHEN regexp_full_match(substr(token, key_length + 2), '"(?:[^"\\]|\\.)*"')
        THEN nullif(replace(replace(substr(token, key_length + 3, length(token) - key_length - 3), '\"', '"'),
                            '\\', '\'), '')
END;
CREATE OR REPLACE TEMP MACRO rw_logfmt_tokens(line, paths) AS list_transform(
    [regexp_extract_all(line, '[^ =]+=(?:"(?:[^"\\]|\\.)*"|[^ ]*)')],
    lambda tok: list_transform([list_transform(tok, lambda t: split_part(t, '=', 1))],
        lambda keys: list_transform(paths, lambda p: rw_logfmt_value(tok[list_position(keys, p[4:-2])], length(p) - 4)))[1])[1];
CREATE OR REPLACE TEMP MACRO rw_logfmt_fields(line, paths) AS CASE
    WHEN rw_logfmt_plain(line) THEN list_transform(json_extract_string(rw_logfmt_json(line), paths), lambda v: nullif(v, ''))
    ELSE rw_logfmt_tokens(line, paths)
END;
