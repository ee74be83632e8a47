-- distribution notification envelopes ({"events": [...]}) or single events, one JSON document per line,
-- -> audit_events. Input: rw_raw(line, raw). Named parameters: registry, region, source.
-- Output temp tables: rw_rows (audit_events columns, new event ids only), rw_rejects, rw_consumed.

CREATE OR REPLACE TEMP TABLE rw_n AS
SELECT line, raw, json_valid(raw) AS ok,
    CASE WHEN json_valid(raw) AND json_type(raw, '$.events') = 'ARRAY' THEN 'envelope'
         WHEN json_valid(raw) AND json_type(raw, '$.action') = 'VARCHAR' THEN 'event'
         WHEN json_valid(raw) THEN 'other' END AS kind
FROM rw_raw
WHERE raw IS NOT NULL AND raw <> '' AND raw <> '#regwatch-rejected#';
-- @@
CREATE OR REPLACE TEMP TABLE rw_rejects AS
SELECT line, CASE WHEN starts_with(raw, '{') AND NOT ends_with(raw, '}') THEN 'truncated' ELSE 'malformed' END AS reason,
    left(raw, 4096) AS raw
FROM rw_n WHERE NOT ok OR kind = 'other';
-- @@
CREATE OR REPLACE TEMP TABLE rw_ev AS
SELECT line, e FROM (
    SELECT line, unnest(CAST(json_extract(raw, '$.events') AS JSON[])) AS e FROM rw_n WHERE kind = 'envelope'
    UNION ALL
    SELECT line, CAST(raw AS JSON) AS e FROM rw_n WHERE kind = 'event'
);
-- @@
CREATE OR REPLACE TEMP TABLE rw_consumed AS SELECT DISTINCT line FROM rw_ev;
-- @@
CREATE OR REPLACE TEMP TABLE rw_rows AS
SELECT f[1] AS event_id, rw_utc(f[2]) AS ts, f[3] AS action, $registry AS registry, $region AS region,
    f[4] AS repository, f[5] AS tag, f[6] AS digest, f[7] AS media_type,
    coalesce(TRY_CAST(f[8] AS BIGINT), TRY_CAST(f[9] AS BIGINT)) AS size, f[10] AS actor,
    rw_strip_port(f[11]) AS client_addr, f[12] AS user_agent, f[13] AS request_id, f[14] AS source_instance,
    f[15] AS source_addr, $source AS source
FROM (
    SELECT line, json_extract_string(e, ['$.id', '$.timestamp', '$.action', '$.target.repository', '$.target.tag',
        '$.target.digest', '$.target.mediaType', '$.target.size', '$.target.length', '$.actor.name',
        '$.request.addr', '$.request.useragent', '$.request.id', '$.source.instanceID', '$.source.addr']) AS f
    FROM rw_ev
)
WHERE f[1] IS NOT NULL AND rw_utc(f[2]) IS NOT NULL AND f[3] IS NOT NULL
  AND f[1] NOT IN (SELECT event_id FROM audit_events)
QUALIFY row_number() OVER (PARTITION BY f[1] ORDER BY line) = 1;
