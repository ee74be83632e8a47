-- name: retries
-- description: Clients retrying after failures: pulls that follow a bad pull of the same manifest by the same client within the window.
-- param: window (duration, default 60s): a pull this soon after a bad one is a retry (the config's sli.retry_window_seconds)
-- param: repository (text, optional): only this repository
-- param: limit (int, default 50): rows to return
--
-- The rule of the SLO engine's rw_requests (classify.sql, docs/slis.md): a pull is a retry when the
-- previous good-or-bad pull of the same client IP, repository and reference was bad and at most the
-- window earlier. Excluded outcomes (401 challenges, 404) neither count nor break a chain.
-- Keep in step with classify.sql (it does not expose the client, which this question needs).
WITH pulls AS (
    SELECT client_ip, user_agent, ts, rw_outcome(status) AS outcome,
           lag(CASE WHEN rw_outcome(status) <> 'excluded' THEN rw_outcome(status) END IGNORE NULLS) OVER w
               AS prev_outcome,
           lag(CASE WHEN rw_outcome(status) <> 'excluded' THEN ts END IGNORE NULLS) OVER w AS prev_ts
    FROM requests
    WHERE ts >= $since - to_microseconds(CAST($window * 1000000 AS BIGINT)) AND ts < $until
      AND rw_kind(method, route) = 'pull'
      AND client_ip IS NOT NULL AND repository IS NOT NULL AND reference IS NOT NULL
      AND ($repository IS NULL OR repository = $repository)
    WINDOW w AS (PARTITION BY client_ip, repository, reference ORDER BY ts, source, line)
),
marked AS (
    SELECT *,
           coalesce(prev_outcome = 'bad' AND epoch_us(ts) - epoch_us(prev_ts) <= CAST($window * 1000000 AS BIGINT), false)
               AS is_retry
    FROM pulls
    WHERE ts >= $since
)
SELECT client_ip,
       mode(user_agent) AS user_agent,
       count(*) FILTER (WHERE outcome = 'bad') AS bad_pulls,
       count(*) FILTER (WHERE is_retry) AS retries,
       count(*) FILTER (WHERE is_retry AND outcome = 'good') AS retries_good,
       count(*) FILTER (WHERE is_retry AND outcome = 'bad') AS retries_bad,
       min(ts) FILTER (WHERE is_retry) AS first_retry,
       max(ts) FILTER (WHERE is_retry) AS last_retry
FROM marked
GROUP BY client_ip
HAVING retries > 0
ORDER BY retries DESC, client_ip
LIMIT $limit
