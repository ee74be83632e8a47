-- distribution (registry:2 / docker-registry) output -> requests.
-- Input: rw_raw(line, raw) (clean lines: valid UTF-8, no control bytes, <= 64 KiB; the reader has already
-- recorded the others and left a marker line in their place) and rw_carry(line, ts, id, method, uri, ip,
-- status, duration_s) (completion lines of the previous batch still waiting for their access line).
-- Named parameters: registry, region, source.
-- Output temp tables: rw_rows (request rows), rw_rejects (line, reason, raw), rw_carry_out.
-- Statements are separated by lines holding only the separator comment (two dashes, two at signs).
--
-- Cost notes (this runs over millions of lines; measured in benchmarks/bench_ingest.py):
-- - rw_raw is scanned once; lines without a request are dropped right after their classification
--   (one DFA regex per JSON record), raw text is kept only for rejected lines;
-- - an access line is checked with one DFA-only regexp_matches and cut apart with string_split/split_part;
--   only lines outside that strict shape (escaped quotes, odd spacing) pay for the capturing regex,
--   which accepts exactly what it always did;
-- - formats/distribution.py turns off filter pushdown while these run (it would copy the parsing
--   expressions into the filters and run them twice) and bounds DuckDB's memory.

-- One statement parses, dedupes and pairs (materialising a table costs far more than DuckDB's own
-- materialised CTEs); its table rw_pairs holds one row per request ("row"), the rejects ("reject")
-- and the batch's last line number ("last"). Statements 2-4 cut it into the outputs.
--
-- 1. parse every line once ("parsed"), into the fields of a request line:
--    time, request id, method, uri, client, user agent, status, bytes, duration, user (NULL for other
--    lines). Conditions are CASE expressions, which evaluate each branch only on the rows that reach it
--    (AND/OR in a projection evaluate every operand on every row).
-- 2. one completion per request id ("done"): the "response completed" line, else the
--    refused-authorization warning.
-- 3. pair each access line with the completion line of the same request ("j" with "a"): same method,
--    URI and client, k-th with k-th in file order, the completion first, compatible status and start
--    time. The outer join keeps unpaired lines of both kinds; carried completions (rw_carry, from the
--    previous batch) only retire their access line.
-- Windows partition by a hash of their key first and then by the key itself: exact, and the sort
-- mostly compares 8-byte hashes instead of long strings (URIs, request ids).
CREATE OR REPLACE TEMP TABLE rw_pairs AS
WITH k AS (
    -- one DFA regex finds the message of a structured line (cheaper than two substring searches);
    -- the rare refused-authorization match is checked for a completion message further on
    SELECT line, raw,
        CASE
            WHEN raw IS NULL OR raw = '' THEN 'empty'
            WHEN raw = '#regwatch-rejected#' THEN 'pre_rejected'
            WHEN starts_with(raw, '{') THEN
                CASE regexp_extract(raw, '"msg":"(?:response completed|error authorizing context)', 0)[8]
                     WHEN 'r' THEN 'json_done'
                     WHEN 'e' THEN CASE WHEN contains(raw, '"msg":"response completed') THEN 'json_done'
                                        ELSE 'json_authfail' END
                     ELSE 'json_other' END
            WHEN starts_with(raw, 'time="') THEN
                CASE regexp_extract(raw, ' msg="(?:response completed|error authorizing context)', 0)[7]
                     WHEN 'r' THEN 'text_done'
                     WHEN 'e' THEN CASE WHEN contains(raw, ' msg="response completed') THEN 'text_done'
                                        ELSE 'text_authfail' END
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
        END AS shape
    FROM kept
), c AS (
    SELECT line, kind, raw, shape,
        CASE
        WHEN kind IN ('json_done', 'json_authfail') THEN try(json_extract_string(raw, [
            '$."time"', '$."http.request.id"', '$."http.request.method"', '$."http.request.uri"',
            '$."http.request.remoteaddr"', '$."http.request.useragent"', '$."http.response.status"',
            '$."http.response.written"', '$."http.response.duration"', '$."auth.user.name"']))
        WHEN kind IN ('text_done', 'text_authfail') THEN [
            rw_logfmt(raw, 'time'), rw_logfmt(raw, 'http\.request\.id'), rw_logfmt(raw, 'http\.request\.method'),
            rw_logfmt(raw, 'http\.request\.uri'), rw_logfmt(raw, 'http\.request\.remoteaddr'),
            rw_logfmt(raw, 'http\.request\.useragent'), rw_logfmt(raw, 'http\.response\.status'),
            rw_logfmt(raw, 'http\.response\.written'), rw_logfmt(raw, 'http\.response\.duration'),
            rw_logfmt(raw, 'auth\.user\.name')]
        END AS f,
        CASE WHEN shape = 'strict' THEN string_split(raw, '"') END AS q,
        CASE WHEN shape = 'regex' THEN regexp_extract(raw,
            '^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: \S+)?" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$',
            ['ip', 'user', 'ts', 'method', 'uri', 'status', 'bytes', 'ua']) END AS x
    FROM s
), p AS (
    -- the fields of a request line, whatever its kind (NULL for other lines)
    SELECT line, kind, raw, f,
        CASE WHEN f IS NOT NULL THEN rw_utc(f[1])
             WHEN shape = 'strict' THEN rw_utc_clf(split_part(split_part(q[1], '[', 2), ']', 1))
             WHEN shape = 'regex' THEN rw_utc_clf(x.ts) END AS ts,
        CASE WHEN shape = 'strict' THEN split_part(q[2], ' ', 1) WHEN shape = 'regex' THEN x.method ELSE f[3] END AS method,
        CASE WHEN shape = 'strict' THEN split_part(q[2], ' ', 2) WHEN shape = 'regex' THEN x.uri ELSE f[4] END AS uri,
        CASE WHEN shape = 'strict' THEN split_part(q[1], ' ', 1) WHEN shape = 'regex' THEN x.ip
             WHEN f IS NOT NULL THEN rw_strip_port(f[5]) END AS ip,
        nullif(CASE WHEN shape = 'strict' THEN
                        CASE WHEN len(q) = 7 THEN q[6] ELSE left(substr(raw, strpos(raw, '" "') + 3), -1) END
                    WHEN shape = 'regex' THEN x.ua ELSE f[6] END, '') AS ua,
        TRY_CAST(CASE WHEN shape = 'strict' THEN split_part(q[3], ' ', 2) WHEN shape = 'regex' THEN x.status
                      ELSE f[7] END AS SMALLINT) AS status,
        TRY_CAST(CASE WHEN shape = 'strict' THEN split_part(q[3], ' ', 3) WHEN shape = 'regex' THEN x.bytes
                      ELSE f[8] END AS BIGINT) AS nbytes,
        CASE WHEN f[9] IS NOT NULL THEN rw_go_duration(f[9]) END AS duration_s,
        CASE WHEN shape = 'strict' THEN nullif(split_part(q[1], ' ', 3), '-') WHEN shape = 'regex' THEN nullif(x.user, '-')
             ELSE nullif(f[10], '') END AS "user",
        shape IS NOT NULL AS parsed_access
    FROM c
), parsed AS MATERIALIZED (
    SELECT line, kind, ts, f[2] AS id, method, uri, ip, ua, status, nbytes, duration_s, "user", reject,
        CASE WHEN reject IS NOT NULL THEN left(raw, 4096) END AS reject_raw
    FROM (
        SELECT *,
            CASE kind
            WHEN 'json_other' THEN CASE WHEN NOT ends_with(raw, '}') THEN 'truncated' END  -- no request: truncation only
            WHEN 'access' THEN
                CASE WHEN NOT parsed_access AND regexp_matches(raw, '^\S+ \S+ \S+ \[\d')
                         THEN CASE WHEN ends_with(raw, '"') THEN 'malformed' ELSE 'truncated' END
                     WHEN parsed_access AND ts IS NULL THEN 'malformed' END
            WHEN 'json_done' THEN
                CASE WHEN f IS NULL OR ts IS NULL OR f[3] IS NULL OR f[4] IS NULL
                     THEN CASE WHEN ends_with(raw, '}') THEN 'malformed' ELSE 'truncated' END END
            WHEN 'json_authfail' THEN
                CASE WHEN f IS NULL OR ts IS NULL OR f[3] IS NULL OR f[4] IS NULL
                     THEN CASE WHEN ends_with(raw, '}') THEN 'malformed' ELSE 'truncated' END END
            WHEN 'text_other' THEN
                CASE WHEN NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ ') THEN 'malformed' END
            WHEN 'text_done' THEN
                CASE WHEN NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ ') OR ts IS NULL OR f[3] IS NULL
                          OR f[4] IS NULL THEN 'malformed' END
            WHEN 'text_authfail' THEN
                CASE WHEN NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ ') OR ts IS NULL OR f[3] IS NULL
                          OR f[4] IS NULL THEN 'malformed' END
            END AS reject
        FROM p
    )
    WHERE kind IN ('json_done', 'json_authfail', 'text_done', 'text_authfail', 'access') OR reject IS NOT NULL
), done AS (
    SELECT line, id, ts AS ts_end, method, uri, ip, ua, status, nbytes AS written, duration_s, "user"
    FROM parsed
    WHERE kind IN ('json_done', 'json_authfail', 'text_done', 'text_authfail')
      AND ts IS NOT NULL AND method IS NOT NULL AND uri IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY hash(coalesce(id, CAST(line AS VARCHAR))), coalesce(id, CAST(line AS VARCHAR))
                               ORDER BY kind LIKE '%done' DESC, line DESC) = 1
), j AS (
    SELECT *, ts_end - to_microseconds(CAST(coalesce(duration_s, 0) * 1e6 AS BIGINT)) AS ts_start,
        hash(method, uri, ip) AS h, row_number() OVER (PARTITION BY hash(method, uri, ip), method, uri, ip ORDER BY line) AS rn
    FROM (SELECT line, false AS carried, id, ts_end, method, uri, ip, ua, status, written, duration_s, "user"
          FROM done
          UNION ALL
          SELECT line, true, id, ts, method, uri, ip, NULL, status, NULL, duration_s, NULL FROM rw_carry)
), a AS (
    SELECT line, ts, method, uri, ip, ua, status, nbytes, "user",
        hash(method, uri, ip) AS h, row_number() OVER (PARTITION BY hash(method, uri, ip), method, uri, ip ORDER BY line) AS rn
    FROM parsed
    WHERE kind = 'access' AND ts IS NOT NULL AND ip IS NOT NULL
)
SELECT 'row' AS part, j.line AS j_line, a.line AS a_line, coalesce(j.carried, false) AS carried,
    coalesce(j.line, a.line) AS line, coalesce(j.ts_start, a.ts) AS ts,
    coalesce(j.ip, a.ip) AS client_ip, coalesce(j."user", a."user") AS "user",
    coalesce(j.method, a.method) AS method, coalesce(j.uri, a.uri) AS uri,
    coalesce(j.status, a.status) AS status, coalesce(a.nbytes, j.written) AS bytes_sent,
    j.duration_s, coalesce(j.ua, a.ua) AS user_agent, j.id AS request_id,
    CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS raw
FROM j FULL OUTER JOIN a
    ON j.h = a.h AND j.rn = a.rn AND j.method = a.method AND j.uri = a.uri AND j.ip = a.ip
   AND j.line < a.line
   AND (j.status IS NULL OR j.status = a.status)
   AND abs(epoch(j.ts_start) - epoch(a.ts)) <= 2.5
UNION ALL
SELECT 'reject', NULL, NULL, false, line, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    reject, reject_raw
FROM parsed WHERE reject IS NOT NULL
UNION ALL
SELECT 'last', NULL, NULL, false, coalesce(max(line), 0), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL
FROM parsed;
-- @@
CREATE OR REPLACE TEMP TABLE rw_rejects AS
SELECT line, reason, raw FROM rw_pairs WHERE part = 'reject';
-- @@
-- 4. one row per request
CREATE OR REPLACE TEMP TABLE rw_rows AS
SELECT r.ts, $registry AS registry, $region AS region, $source AS source, r.line, r.client_ip, r."user",
    r.method, r.route, rw_repository(r.route, r.p) AS repository, rw_reference(r.route, r.p) AS reference,
    rw_digest(r.route, r.p, r.uri) AS digest, r.status, r.bytes_sent, r.duration_s,
    r.user_agent, r.request_id, CAST(NULL AS VARCHAR) AS cache_status
FROM (SELECT *, rw_route_of(path, p) AS route
      FROM (SELECT *, rw_v2_parts(path) AS p
            FROM (SELECT *, split_part(uri, '?', 1) AS path FROM rw_pairs WHERE part = 'row' AND NOT carried))) r;
-- @@
-- 5. completions still without an access line near the end of the batch wait for the next batch ("near":
--    within 256 lines of the last request or rejected line; lines carrying neither are not kept)
CREATE OR REPLACE TEMP TABLE rw_carry_out AS
SELECT line, ts + to_microseconds(CAST(coalesce(duration_s, 0) * 1e6 AS BIGINT)) AS ts, request_id AS id,
    method, uri, client_ip AS ip, status, duration_s
FROM rw_pairs
WHERE part = 'row' AND j_line IS NOT NULL AND a_line IS NULL AND NOT carried
  AND line > (SELECT line FROM rw_pairs WHERE part = 'last') - 256;
