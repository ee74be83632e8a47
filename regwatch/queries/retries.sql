-- name: retries
-- description: Clients retrying after failures: pulls that follow a bad pull of the same manifest by the same client within the window.
-- param: window (duration, default 60s): a pull this soon after a bad one is a retry (the config's sli.retry_window_seconds)
-- param: repository (text, optional): only this repository
-- param: limit (int, default 50): rows to return
--
-- The retry rule is the SLO engine's own: rw_requests (regwatch/slo/sql/classify.sql, docs/slis.md)
-- marks a pull `attempt = 'retry'` when the previous good-or-bad pull of the same client IP,
-- repository and reference was bad and at most the window earlier; excluded outcomes (401
-- challenges, 404) neither count nor break a chain. rw_requests reads (lo, hi]; this query's range
-- is [since, until), which on the store's microsecond timestamps is (since - 1us, until - 1us].
-- Pulls without a client IP, repository or reference are never retries and are left out.
WITH pulls AS (
    SELECT client_ip, user_agent, ts, outcome, attempt = 'retry' AS is_retry
    FROM rw_requests(
        $since::TIMESTAMP - INTERVAL 1 MICROSECOND - to_microseconds(CAST($window * 1000000 AS BIGINT)),
        $since::TIMESTAMP - INTERVAL 1 MICROSECOND,
        $until::TIMESTAMP - INTERVAL 1 MICROSECOND,
        CAST($window * 1000000 AS BIGINT)
    )
    WHERE kind = 'pull'
      AND client_ip IS NOT NULL AND repository IS NOT NULL AND reference IS NOT NULL
      AND ($repository IS NULL OR repository = $repository)
)
SELECT client_ip,
       mode(user_agent) AS user_agent,
       count(*) FILTER (WHERE outcome = 'bad') AS bad_pulls,
       count(*) FILTER (WHERE is_retry) AS retries,
       count(*) FILTER (WHERE is_retry AND outcome = 'good') AS retries_good,
       count(*) FILTER (WHERE is_retry AND outcome = 'bad') AS retries_bad,
       min(ts) FILTER (WHERE is_retry) AS first_retry,
       max(ts) FILTER (WHERE is_retry) AS last_retry
FROM pulls
GROUP BY client_ip
HAVING retries > 0
ORDER BY retries DESC, client_ip
LIMIT $limit
