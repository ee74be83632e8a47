-- nginx access lines -> requests. Input: rw_raw(line, raw) and the per-batch macros
-- rw_nginx_match(raw), rw_nginx_retry(raw, m) and rw_nginx_pick(m) built from the log_format
-- (formats/nginx.py). Named parameters: registry, region, source. Output temp tables: rw_rows, rw_rejects.

-- 1. every line matched and its fields picked (formats/nginx.py puts its match_sql at the match marker
--    below: the lines cut at the format's literals, or matched with the strict regex in one pass; the
--    general one for the lines neither takes), its time and request line cut; the raw text is kept only
--    for the lines rejected; ok tells that f is not NULL (a struct's IS NULL reads every field)
CREATE OR REPLACE TEMP TABLE rw_q AS
SELECT line, f, ts, rq, reject, CASE WHEN reject IS NOT NULL THEN left(raw, 4096) END AS reject_raw
FROM (SELECT *,
    CASE WHEN NOT ok AND starts_with(raw, '{') AND NOT ends_with(raw, '}') THEN 'truncated'
         WHEN NOT ok OR ts IS NULL OR TRY_CAST(f.status AS SMALLINT) IS NULL THEN 'malformed' END AS reject
FROM (
    SELECT line, raw, f, ok,
        coalesce(rw_utc_clf(f.time_local), rw_utc(f.time_iso8601),
                 make_timestamp(epoch_us(to_timestamp(TRY_CAST(f.msec AS DOUBLE))))) AS ts,
        regexp_extract(f.request, '^(\S+) (\S+)(?: (\S+))?$', ['method', 'uri', 'proto']) AS rq
    -- rw_nginx_pick gets a column: a macro repeats its argument, inside CASE branches that share nothing
    FROM (SELECT line, raw, rw_nginx_pick(m) AS f, rw_nginx_ok(m) AS ok
          FROM (/*match*/))));
-- @@
CREATE OR REPLACE TEMP TABLE rw_rejects AS
SELECT line, reject AS reason, reject_raw AS raw FROM rw_q WHERE reject IS NOT NULL;
-- @@
CREATE OR REPLACE TEMP TABLE rw_rows AS
SELECT r.ts, $registry AS registry, $region AS region, $source AS source, r.line, r.client_ip, r."user",
    r.method, r.route, rw_repository(r.route, r.p) AS repository, rw_reference(r.route, r.p) AS reference,
    rw_digest(r.route, r.p, r.uri) AS digest, r.status, r.bytes_sent, r.duration_s,
    r.user_agent, r.request_id, r.cache_status
FROM (SELECT *, rw_route_of(path, p) AS route
      FROM (SELECT *, rw_v2_parts(path) AS p
            FROM (SELECT *, split_part(uri, '?', 1) AS path
                  FROM (SELECT line, ts, rw_strip_port(f.remote_addr) AS client_ip, f.remote_user AS "user",
                            coalesce(f.request_method, nullif(rq.method, '')) AS method,
                            coalesce(f.request_uri, nullif(rq.uri, ''), '') AS uri,
                            CAST(f.status AS SMALLINT) AS status,
                            TRY_CAST(coalesce(f.body_bytes_sent, f.bytes_sent) AS BIGINT) AS bytes_sent,
                            coalesce(TRY_CAST(f.request_time AS DOUBLE),
                                     TRY_CAST(regexp_extract(f.upstream_response_time, '([0-9.]+)$', 1) AS DOUBLE))
                                AS duration_s,
                            f.http_user_agent AS user_agent, f.request_id, f.upstream_cache_status AS cache_status
                        FROM rw_q
                        WHERE reject IS NULL)))) r;
