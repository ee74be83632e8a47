-- distribution (registry:2 / docker-registry) output -> requests.
-- Input: rw_raw(line, raw) (clean lines: valid UTF-8, no control bytes, <= 64 KiB; the reader has already
-- recorded the others and left a marker line in their place) and rw_carry(line, ts, id, method, uri, ip,
-- status, duration_s) (completion lines of the previous batch still waiting for their access line).
-- Named parameters: registry, region, source.
-- Output: the view rw_rows (request rows, columns of `requests`) over the temp table rw_all, the temp
-- tables rw_rejects(line, reason, raw) and rw_carry_out.
-- Statements are separated by lines holding only the separator comment (two dashes, two at signs).
-- formats/distribution.py replaces the marker /*key*/ by nothing, or, after a hash collision, by the
-- exact key (see statement 3).
--
-- Cost notes (this runs over millions of lines; measured in benchmarks/bench_ingest.py):
-- - rw_raw is scanned once; lines without a request are dropped right after their classification
--   (a substring test, then one regex on the few candidates), raw text is kept only for rejected lines;
-- - an access line is checked with one DFA-only regexp_matches and cut apart with string_split/split_part;
--   only lines outside that strict shape (escaped quotes, odd spacing) pay for the capturing regex,
--   which accepts exactly what it always did;
-- - pairing works on narrow rows (line numbers and one 64-bit key hash): a window or join that carries
--   strings costs several times more; the strings come back in one join at the end;
-- - formats/distribution.py turns off filter pushdown while these run (it would copy the parsing
--   expressions into the filters and run them twice) and bounds DuckDB's memory.

-- 1. parse every line once, into the fields of a request line: time, request id, method, uri, client,
--    user agent, status, bytes, duration, user (NULL for other lines), and h, the hash of the pairing key
--    (method, uri, client). Conditions are CASE expressions, which evaluate each branch only on the rows
--    that reach it (AND/OR in a projection evaluate every operand on every row). Kept: completion lines
--    ("done": the "response completed" record, or the refused-authorization warning), access lines and
--    rejected lines.
CREATE OR REPLACE TEMP TABLE rw_parsed AS
WITH k AS (
    -- a structured line (logrus JSON or text) is a completion, a refused authorization or another record
    -- (rw_record_kind, given how its message key is written)
    SELECT line, raw,
        CASE
            WHEN raw IS NULL OR raw = '' THEN 'empty'
            WHEN raw = '#regwatch-rejected#' THEN 'pre_rejected'
            WHEN starts_with(raw, '{') THEN
                CASE rw_record_kind(raw, '"msg":"') WHEN 'done' THEN 'json_done' WHEN 'authfail' THEN 'json_authfail'
                     ELSE 'json_other' END
            WHEN starts_with(raw, 'time="') THEN
                CASE rw_record_kind(raw, ' msg="') WHEN 'done' THEN 'text_done' WHEN 'authfail' THEN 'text_authfail'
                     ELSE 'text_other' END
            ELSE 'access'
        END AS kind
    FROM rw_raw
), kept AS (
    -- lines that carry no request go no further, unless they are rejected (a cut JSON record or a
    -- logfmt line without its time/level prefix): they make a third of a registry's output
    SELECT * FROM k
    WHERE kind IN ('json_done', 'json_authfail', 'text_done', 'text_authfail', 'access')
       OR (kind = 'json_other' AND NOT ends_with(raw, '}'))
       OR (kind = 'text_other' AND NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ '))
), s AS (
    -- access lines: the strict shape (no quote, bracket or backslash where the line is cut, a referer
    -- without quotes) is cut with split_part; the rest pays for the capturing regex
    SELECT line, kind, raw,
        CASE WHEN kind <> 'access' THEN NULL
        WHEN regexp_matches(raw,
            '^[^\s"\[\]]+ [^\s"\[\]]+ [^\s"\[\]]+ \[[^\[\]"]+\] "[^\s"]+ [^\s"]+(?: [^\s"]+)?" \d{3} (?:\d+|-) "[^"\\]*" "(?:[^"\\]|\\.)*"$')
        THEN 'strict'
        WHEN regexp_matches(raw,
            '^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: \S+)?" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$')
        THEN 'regex'
        END AS shape,
        -- a text record's fields as a list, here: rw_completion_of repeats its argument
        CASE WHEN kind IN ('text_done', 'text_authfail') THEN rw_logfmt_fields(raw, rw_completion_fields()) END AS tf
    FROM kept
), c AS (
    SELECT line, kind, raw, shape,
        CASE
        WHEN kind IN ('json_done', 'json_authfail') THEN try(rw_completion(raw))
        WHEN kind IN ('text_done', 'text_authfail') THEN rw_completion_of(tf)
        END AS f,
        CASE WHEN shape = 'strict' THEN string_split(raw, '"') END AS q,
        CASE WHEN shape = 'regex' THEN regexp_extract(raw,
            '^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: \S+)?" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$',
            ['ip', 'user', 'ts', 'method', 'uri', 'status', 'bytes', 'ua']) END AS x
    FROM s
), p AS (
    -- the fields of a request line, whatever its kind (NULL for other lines). f is NULL outside the
    -- records, so their fields come last, with no test of f itself: a struct's IS NULL reads every field
    SELECT line, kind, raw, f,
        CASE WHEN shape = 'strict' THEN rw_utc_clf(substr(q[1], strpos(q[1], '[') + 1, length(q[1]) - strpos(q[1], '[') - 2))
             WHEN shape = 'regex' THEN rw_utc_clf(x.ts) ELSE rw_utc(f."time") END AS ts,
        CASE WHEN shape = 'strict' THEN left(q[2], strpos(q[2], ' ') - 1) WHEN shape = 'regex' THEN x.method ELSE f."http.request.method" END AS method,
        CASE WHEN shape = 'strict' THEN split_part(q[2], ' ', 2) WHEN shape = 'regex' THEN x.uri ELSE f."http.request.uri" END AS uri,
        CASE WHEN shape = 'strict' THEN left(q[1], strpos(q[1], ' ') - 1) WHEN shape = 'regex' THEN x.ip
             ELSE rw_strip_port(f."http.request.remoteaddr") END AS ip,
        nullif(CASE WHEN shape = 'strict' THEN
                        CASE WHEN len(q) = 7 THEN q[6] ELSE left(substr(raw, strpos(raw, '" "') + 3), -1) END
                    WHEN shape = 'regex' THEN x.ua ELSE f."http.request.useragent" END, '') AS ua,
        TRY_CAST(CASE WHEN shape = 'strict' THEN substr(q[3], 2, 3) WHEN shape = 'regex' THEN x.status
                      ELSE f."http.response.status" END AS SMALLINT) AS status,
        TRY_CAST(CASE WHEN shape = 'strict' THEN substr(q[3], 6, length(q[3]) - 6) WHEN shape = 'regex' THEN x.bytes
                      ELSE f."http.response.written" END AS BIGINT) AS nbytes,
        CASE WHEN f."http.response.duration" IS NOT NULL THEN rw_go_duration(f."http.response.duration") END AS duration_s,
        CASE WHEN shape = 'strict' THEN nullif(split_part(q[1], ' ', 3), '-') WHEN shape = 'regex' THEN nullif(x.user, '-')
             ELSE nullif(f."auth.user.name", '') END AS "user",
        shape IS NOT NULL AS parsed_access
    FROM c
)
SELECT line, kind, side, ts, f."http.request.id" AS id, method, uri, ip, ua, status, nbytes, duration_s, "user",
    CASE WHEN side IS NOT NULL THEN hash(method, uri, ip) END AS h,
    reject, CASE WHEN reject IS NOT NULL THEN left(raw, 4096) END AS reject_raw
FROM (
    SELECT *,
        -- what a line can be paired as: a completion with its time, method and URI, or an access line with
        -- its time and client (statement 2 takes back the completions a request id has twice)
        CASE WHEN kind IN ('json_done', 'json_authfail', 'text_done', 'text_authfail')
                  AND ts IS NOT NULL AND method IS NOT NULL AND uri IS NOT NULL THEN 'done'
             WHEN kind = 'access' AND ts IS NOT NULL AND ip IS NOT NULL THEN 'access' END AS side,
        CASE kind
        WHEN 'json_other' THEN CASE WHEN NOT ends_with(raw, '}') THEN 'truncated' END  -- no request: truncation only
        WHEN 'access' THEN
            CASE WHEN NOT parsed_access AND regexp_matches(raw, '^\S+ \S+ \S+ \[\d')
                     THEN CASE WHEN ends_with(raw, '"') THEN 'malformed' ELSE 'truncated' END
                 WHEN parsed_access AND ts IS NULL THEN 'malformed' END
        WHEN 'json_done' THEN
            CASE WHEN ts IS NULL OR f."http.request.method" IS NULL OR f."http.request.uri" IS NULL
                 THEN CASE WHEN ends_with(raw, '}') THEN 'malformed' ELSE 'truncated' END END
        WHEN 'json_authfail' THEN
            CASE WHEN ts IS NULL OR f."http.request.method" IS NULL OR f."http.request.uri" IS NULL
                 THEN CASE WHEN ends_with(raw, '}') THEN 'malformed' ELSE 'truncated' END END
        WHEN 'text_other' THEN
            CASE WHEN NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ ') THEN 'malformed' END
        WHEN 'text_done' THEN
            CASE WHEN NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ ') OR ts IS NULL OR f."http.request.method" IS NULL
                      OR f."http.request.uri" IS NULL THEN 'malformed' END
        WHEN 'text_authfail' THEN
            CASE WHEN NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ ') OR ts IS NULL OR f."http.request.method" IS NULL
                      OR f."http.request.uri" IS NULL THEN 'malformed' END
        END AS reject
    FROM p
)
WHERE kind IN ('json_done', 'json_authfail', 'text_done', 'text_authfail', 'access') OR reject IS NOT NULL;
-- @@
-- 2. one completion per request id: the "response completed" line, else the refused-authorization
--    warning (the later line of equals); the others are no completions any more. Only ids seen twice are
--    looked at (a hash aggregate finds them; the window then compares the ids themselves).
UPDATE rw_parsed SET side = NULL
WHERE line IN (
    WITH dn AS (SELECT line, kind LIKE '%done' AS pri, id FROM rw_parsed WHERE side = 'done' AND id IS NOT NULL)
    SELECT line FROM (
        SELECT line, row_number() OVER (PARTITION BY hash(id), id ORDER BY pri DESC, line DESC) AS k
        FROM dn WHERE hash(id) IN (SELECT hash(id) FROM dn GROUP BY ALL HAVING count(*) > 1))
    WHERE k > 1);
-- @@
-- 3. pair ranks: the k-th completion with the k-th access line of the same key, in file order. Carried
--    completions (rw_carry, from the previous batch) count too: they only retire their access line.
--    The key is its 64-bit hash (h); statement 4 compares the strings of every ranked pair, and when two
--    keys of a batch ever share a hash, formats/distribution.py runs 3 and 4 again with the exact key
--    (method, uri, ip) in place of /*key*/.
CREATE OR REPLACE TEMP TABLE rw_p AS
SELECT j.line AS j_line, a.line AS a_line
FROM (SELECT line, h /*key*/, row_number() OVER (PARTITION BY h /*key*/ ORDER BY line) AS rn
      FROM (SELECT line, h, method, uri, ip FROM rw_parsed WHERE side = 'done'
            UNION ALL
            SELECT line, hash(method, uri, ip), method, uri, ip FROM rw_carry)) j
JOIN (SELECT line, h /*key*/, row_number() OVER (PARTITION BY h /*key*/ ORDER BY line) AS rn
      FROM rw_parsed WHERE side = 'access') a
  USING (h /*key*/, rn);
-- @@
-- 4. one row per completion, with its access line when they pair: same key, the completion first,
--    compatible status and start time (ranked pairs that fail this stay two rows), in the columns of
--    `requests` and a few more: done (a completion), carried, uri, a_line (the access line it took) and
--    collided (a ranked pair whose keys differ: their hashes were equal).
CREATE OR REPLACE TEMP TABLE rw_all AS
WITH d AS (
    SELECT line, false AS carried, id, ts - to_microseconds(CAST(coalesce(duration_s, 0) * 1e6 AS BIGINT)) AS ts,
        method, uri, ip, ua, status, nbytes AS written, duration_s, "user"
    FROM rw_parsed WHERE side = 'done'
    UNION ALL
    SELECT line, true, id, ts - to_microseconds(CAST(coalesce(duration_s, 0) * 1e6 AS BIGINT)), method, uri, ip,
        NULL, status, NULL, duration_s, NULL
    FROM rw_carry
), x AS (
    SELECT p.j_line, a.line AS a_line, a.ts, a.method, a.uri, a.ip, a.ua, a.status, a.nbytes, a."user"
    FROM rw_parsed a JOIN rw_p p ON a.line = p.a_line
), m AS (
    SELECT d.*, x.a_line AS x_line, x.ts AS x_ts, x.ua AS x_ua, x.status AS x_status, x.nbytes AS x_nbytes,
        x."user" AS x_user,
        x.a_line IS NOT NULL AND d.method = x.method AND d.uri = x.uri AND d.ip = x.ip AS same,
        d.line < x.a_line AND (d.status IS NULL OR d.status = x.status)
            AND abs(epoch(d.ts) - epoch(x.ts)) <= 2.5 AS fits
    FROM d LEFT JOIN x ON d.line = x.j_line
)
SELECT ts, $registry AS registry, $region AS region, $source AS source, line, ip AS client_ip,
    CASE WHEN same AND fits THEN coalesce("user", x_user) ELSE "user" END AS "user", method,
    route, rw_repository(route, p) AS repository, rw_reference(route, p) AS reference,
    rw_digest(route, p, uri) AS digest,
    CASE WHEN same AND fits THEN coalesce(status, x_status) ELSE status END AS status,
    CASE WHEN same AND fits THEN coalesce(x_nbytes, written) ELSE written END AS bytes_sent,
    duration_s, CASE WHEN same AND fits THEN coalesce(ua, x_ua) ELSE ua END AS user_agent, id AS request_id,
    CAST(NULL AS VARCHAR) AS cache_status,
    true AS done, carried, uri, CASE WHEN same AND fits THEN x_line END AS a_line,
    x_line IS NOT NULL AND NOT coalesce(same, false) AS collided
FROM (SELECT *, rw_route_of(path, p) AS route
      FROM (SELECT *, rw_v2_parts(path) AS p FROM (SELECT *, split_part(uri, '?', 1) AS path FROM m)));
-- @@
-- 5. access lines without a completion are requests of their own (health checks of /, requests the
--    registry never logged)
INSERT INTO rw_all
SELECT ts, $registry, $region, $source, line, ip, "user", method, route, rw_repository(route, p),
    rw_reference(route, p), rw_digest(route, p, uri), status, nbytes, NULL, ua, NULL, NULL, false, false, uri,
    NULL, false
FROM (SELECT *, rw_route_of(path, p) AS route
      FROM (SELECT *, rw_v2_parts(path) AS p
            FROM (SELECT *, split_part(uri, '?', 1) AS path FROM rw_parsed
                  WHERE side = 'access' AND line NOT IN (SELECT a_line FROM rw_all WHERE a_line IS NOT NULL))));
-- @@
CREATE OR REPLACE TEMP TABLE rw_rejects AS
SELECT line, reject AS reason, reject_raw AS raw FROM rw_parsed WHERE reject IS NOT NULL;
-- @@
-- 6. one row per request, as `requests` holds it
CREATE OR REPLACE TEMP VIEW rw_rows AS
SELECT ts, registry, region, source, line, client_ip, "user", method, route, repository, reference, digest,
    status, bytes_sent, duration_s, user_agent, request_id, cache_status
FROM rw_all WHERE NOT carried;
-- @@
-- 7. completions still without an access line near the end of the batch wait for the next batch ("near":
--    within 256 lines of the last request or rejected line; lines carrying neither are not kept)
CREATE OR REPLACE TEMP TABLE rw_carry_out AS
SELECT line, ts + to_microseconds(CAST(coalesce(duration_s, 0) * 1e6 AS BIGINT)) AS ts, request_id AS id,
    method, uri, client_ip AS ip, status, duration_s
FROM rw_all
WHERE done AND NOT carried AND a_line IS NULL
  AND line > (SELECT coalesce(max(line), 0) FROM rw_parsed) - 256;
