-- name: who-pulled
-- description: Which clients and users pulled a repository or a digest, when and how often (the compromised-image question).
-- param: repository (text, optional): exact repository name, e.g. platform/base
-- param: digest (text, optional): content digest (sha256:...) of a manifest or a layer; found even when the pull was by tag
-- one-of: repository, digest
--
-- A pull is a GET of a manifest whose outcome is good (rw_kind / rw_outcome of the SLO engine's
-- classify.sql: 2xx or 304); with a digest, a good GET of that blob counts too. Log rows match on requests.digest (filled from the response when the pull was by tag) or the
-- requested reference; notification "pull" events match on their digest. A request seen both in the
-- logs and as an event (same request id) counts once.
WITH log_pulls AS (
    SELECT ts, client_ip AS client, "user", user_agent, repository, request_id, 'logs' AS source
    FROM requests
    WHERE ts >= $since AND ts < $until
      AND method = 'GET' AND rw_outcome(status) = 'good'
      AND ($repository IS NULL OR repository = $repository)
      AND CASE WHEN $digest IS NULL THEN rw_kind(method, route) = 'pull'
               ELSE route IN ('manifest', 'blob') AND (digest = $digest OR reference = $digest) END
),
event_pulls AS (
    SELECT ts,
           CASE WHEN regexp_matches(client_addr, '^\[.*\]:[0-9]+$') THEN regexp_extract(client_addr, '^\[(.*)\]:[0-9]+$', 1)
                WHEN regexp_matches(client_addr, '^[^:]+:[0-9]+$') THEN regexp_extract(client_addr, '^([^:]+):[0-9]+$', 1)
                ELSE client_addr END AS client,
           actor AS "user", user_agent, repository, request_id, 'events' AS source
    FROM audit_events
    WHERE ts >= $since AND ts < $until
      AND action = 'pull'
      AND ($repository IS NULL OR repository = $repository)
      AND ($digest IS NULL OR digest = $digest)
),
pulls AS (
    SELECT *, row_number() OVER () AS n FROM (SELECT * FROM log_pulls UNION ALL SELECT * FROM event_pulls)
)
SELECT client,
       "user",
       mode(user_agent) AS user_agent,
       count(DISTINCT coalesce(request_id, 'row:' || n)) AS pulls,
       min(ts) AS first_seen,
       max(ts) AS last_seen,
       string_agg(DISTINCT repository, ', ' ORDER BY repository) AS repositories,
       string_agg(DISTINCT source, ', ' ORDER BY source) AS sources
FROM pulls
GROUP BY client, "user"
ORDER BY pulls DESC, first_seen, client, "user"
