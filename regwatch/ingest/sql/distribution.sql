-- distribution (registry:2 / docker-registry) output -> requests.
-- Input: rw_raw(line, raw) (clean lines: valid UTF-8, no control bytes, <= 64 KiB; the reader has already
-- recorded the others and left a marker line in their place) and rw_carry(line, ts, id, method, uri, ip,
-- status, duration_s) (completion lines of the previous batch still waiting for their access line).
-- Named parameters: registry, region, source.
-- Output temp tables: rw_rows (request rows), rw_rejects (line, reason, raw), rw_carry_out.
-- Statements are separated by lines holding only "-- @@".
--
-- Cost notes (this runs over millions of lines): rw_raw is scanned once, by statement 1, and the raw
-- text is kept only for rejected lines. Lines are classified with starts_with/contains before any
-- parsing. An access line is checked with one DFA-only regexp_matches and cut apart with split_part;
-- only lines outside that strict shape (escaped quotes, odd spacing) pay for the capturing regex,
-- which accepts exactly what it always did.

-- 1. classify and parse every line once
CREATE OR REPLACE TEMP TABLE rw_p AS
WITH k AS (
    SELECT line, raw,
        CASE
            WHEN raw IS NULL OR raw = '' THEN 'empty'
            WHEN raw = '#regwatch-rejected#' THEN 'pre_rejected'
            WHEN starts_with(raw, '{') THEN
                CASE WHEN contains(raw, '"msg":"response completed') THEN 'json_done'
                     WHEN contains(raw, '"msg":"error authorizing context') THEN 'json_authfail'
                     ELSE 'json_other' END
            WHEN starts_with(raw, 'time="') THEN
                CASE WHEN contains(raw, ' msg="response completed') THEN 'text_done'
                     WHEN contains(raw, ' msg="error authorizing context') THEN 'text_authfail'
                     ELSE 'text_other' END
            ELSE 'access'
        END AS kind
    FROM rw_raw
), parsed AS (
    SELECT line, kind, raw,
        CASE WHEN kind IN ('json_done', 'json_authfail') THEN try(json_extract_string(raw, [
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
        CASE WHEN kind <> 'access' THEN NULL
        -- the strict shape: no quote, bracket or backslash where split_part cuts, a referer without quotes
        WHEN regexp_matches(raw,
            '^[^\s"\[\]]+ [^\s"\[\]]+ [^\s"\[\]]+ \[[^\[\]"]+\] "[^\s"]+ [^\s"]+(?: [^\s"]+)?" \d{3} (?:\d+|-) "[^"\\]*" "(?:[^"\\]|\\.)*"$')
        THEN {'ip': split_part(raw, ' ', 1), 'user': split_part(raw, ' ', 3),
              'ts': split_part(split_part(split_part(raw, '"', 1), '[', 2), ']', 1),
              'method': split_part(split_part(raw, '"', 2), ' ', 1), 'uri': split_part(split_part(raw, '"', 2), ' ', 2),
              'status': split_part(split_part(raw, '"', 3), ' ', 2), 'bytes': split_part(split_part(raw, '"', 3), ' ', 3),
              'ua': left(substr(raw, strpos(raw, '" "') + 3), -1)}
        WHEN regexp_matches(raw,
            '^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: \S+)?" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$')
        THEN regexp_extract(raw,
            '^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: \S+)?" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$',
            ['ip', 'user', 'ts', 'method', 'uri', 'status', 'bytes', 'ua'])
        END AS a
    FROM k
), v AS (
    SELECT line, kind, raw, f, a,
        CASE WHEN f IS NOT NULL THEN rw_utc(f[1]) WHEN a IS NOT NULL THEN rw_utc_clf(a.ts) END AS ts,
        CASE
            WHEN kind = 'json_other' THEN NOT ends_with(raw, '}')  -- lines carrying no request: truncation only
            WHEN kind IN ('text_other', 'text_done', 'text_authfail') THEN NOT regexp_matches(raw, '^time="[^"]+" level=[a-z]+ ')
            ELSE false
        END AS bad_other
    FROM parsed
), r AS (
    SELECT line, kind, raw, f, a, ts,
        bad_other
        OR (kind IN ('json_done', 'json_authfail') AND (f IS NULL OR ts IS NULL OR f[3] IS NULL OR f[4] IS NULL))
        OR (kind IN ('text_done', 'text_authfail') AND (ts IS NULL OR f[3] IS NULL OR f[4] IS NULL))
        OR (kind = 'access' AND a IS NULL AND regexp_matches(raw, '^\S+ \S+ \S+ \[\d'))
        OR (kind = 'access' AND a IS NOT NULL AND ts IS NULL) AS bad
    FROM v
)
SELECT line, kind, ts,
    CASE WHEN f IS NOT NULL THEN f[2] END AS id,
    coalesce(f[3], a.method) AS method,
    coalesce(f[4], a.uri) AS uri,
    CASE WHEN f IS NOT NULL THEN rw_strip_port(f[5]) ELSE a.ip END AS ip,
    nullif(coalesce(f[6], a.ua), '') AS ua,
    TRY_CAST(coalesce(f[7], a.status) AS SMALLINT) AS status,
    TRY_CAST(coalesce(f[8], a.bytes) AS BIGINT) AS nbytes,
    CASE WHEN f IS NOT NULL THEN rw_go_duration(f[9]) END AS duration_s,
    CASE WHEN f IS NOT NULL THEN nullif(f[10], '') ELSE nullif(a.user, '-') END AS "user",
    CASE WHEN NOT bad THEN NULL
         WHEN (starts_with(raw, '{') AND NOT ends_with(raw, '}')) OR (kind = 'access' AND NOT ends_with(raw, '"'))
         THEN 'truncated' ELSE 'malformed' END AS reject,
    CASE WHEN bad THEN left(raw, 4096) END AS reject_raw
FROM r;
-- @@
-- 2. rejects: malformed or truncated structured lines (the reader already recorded the byte-level ones)
CREATE OR REPLACE TEMP TABLE rw_rejects AS
SELECT line, reject AS reason, reject_raw AS raw FROM rw_p WHERE reject IS NOT NULL;
-- @@
-- 3. one completion per request id (the "response completed" line, else the refused-authorization warning)
CREATE OR REPLACE TEMP TABLE rw_done AS
SELECT line, id, ts AS ts_end, method, uri, ip, ua, status, nbytes AS written, duration_s, "user"
FROM rw_p
WHERE kind IN ('json_done', 'json_authfail', 'text_done', 'text_authfail')
  AND ts IS NOT NULL AND method IS NOT NULL AND uri IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY coalesce(id, CAST(line AS VARCHAR))
                           ORDER BY kind LIKE '%done' DESC, line DESC) = 1;
-- @@
-- 4. pair each access line with the completion line of the same request: same method, URI and client,
--    k-th with k-th in file order, the completion first, compatible status and start time.
--    The outer join keeps unpaired lines of both kinds; carried completions only retire their access line.
CREATE OR REPLACE TEMP TABLE rw_pairs AS
WITH j AS (
    SELECT *, ts_end - to_microseconds(CAST(coalesce(duration_s, 0) * 1e6 AS BIGINT)) AS ts_start,
        row_number() OVER (PARTITION BY method, uri, ip ORDER BY line) AS rn
    FROM (SELECT line, false AS carried, id, ts_end, method, uri, ip, ua, status, written, duration_s, "user"
          FROM rw_done
          UNION ALL
          SELECT line, true, id, ts, method, uri, ip, NULL, status, NULL, duration_s, NULL FROM rw_carry)
), a AS (
    SELECT line, ts, method, uri, ip, ua, status, nbytes, "user",
        row_number() OVER (PARTITION BY method, uri, ip ORDER BY line) AS rn
    FROM rw_p
    WHERE kind = 'access' AND ts IS NOT NULL AND ip IS NOT NULL
)
SELECT j.line AS j_line, a.line AS a_line, coalesce(j.carried, false) AS carried,
    coalesce(j.line, a.line) AS line, coalesce(j.ts_start, a.ts) AS ts,
    coalesce(j.ip, a.ip) AS client_ip, coalesce(j."user", a."user") AS "user",
    coalesce(j.method, a.method) AS method, coalesce(j.uri, a.uri) AS uri,
    coalesce(j.status, a.status) AS status, coalesce(a.nbytes, j.written) AS bytes_sent,
    j.duration_s, coalesce(j.ua, a.ua) AS user_agent, j.id AS request_id
FROM j FULL OUTER JOIN a
    ON j.method = a.method AND j.uri = a.uri AND j.ip = a.ip AND j.rn = a.rn
   AND j.line < a.line
   AND (j.status IS NULL OR j.status = a.status)
   AND abs(epoch(j.ts_start) - epoch(a.ts)) <= 2.5;
-- @@
-- 5. one row per request
CREATE OR REPLACE TEMP TABLE rw_rows AS
SELECT r.ts, $registry AS registry, $region AS region, $source AS source, r.line, r.client_ip, r."user",
    r.method, r.route, rw_repository(r.route, r.p) AS repository, rw_reference(r.route, r.p) AS reference,
    rw_digest(r.route, r.p, r.uri) AS digest, r.status, r.bytes_sent, r.duration_s,
    r.user_agent, r.request_id, CAST(NULL AS VARCHAR) AS cache_status
FROM (SELECT *, rw_route_of(path, p) AS route
      FROM (SELECT *, rw_v2_parts(path) AS p
            FROM (SELECT *, split_part(uri, '?', 1) AS path FROM rw_pairs WHERE NOT carried))) r;
-- @@
-- 6. completions still without an access line near the end of the batch wait for the next batch
CREATE OR REPLACE TEMP TABLE rw_carry_out AS
SELECT d.line, d.ts_end AS ts, d.id, d.method, d.uri, d.ip, d.status, d.duration_s
FROM rw_done d
WHERE d.line > (SELECT coalesce(max(line), 0) FROM rw_p) - 256
  AND d.line IN (SELECT j_line FROM rw_pairs WHERE a_line IS NULL AND NOT carried);
