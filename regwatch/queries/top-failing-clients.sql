-- name: top-failing-clients
-- description: Clients (IP and user agent) with the most failed requests (5xx, 429: bad as in docs/slis.md), with their failure ratio.
-- param: registry (text, optional): only this registry
-- param: region (text, optional): only this region
-- param: repository (text, optional): only this repository
-- param: limit (int, default 20): rows to return
SELECT client_ip,
       user_agent,
       string_agg(DISTINCT "user", ', ' ORDER BY "user") AS users,
       count(*) AS requests,
       count(*) FILTER (WHERE rw_outcome(status) = 'bad') AS failures,
       round(count(*) FILTER (WHERE rw_outcome(status) = 'bad') / count(*), 6) AS failure_ratio,
       count(*) FILTER (WHERE status >= 500) AS "5xx",
       count(*) FILTER (WHERE status = 429) AS "429",
       count(*) FILTER (WHERE status BETWEEN 400 AND 499 AND rw_outcome(status) = 'excluded') AS client_errors,
       min(ts) FILTER (WHERE rw_outcome(status) = 'bad') AS first_failure,
       max(ts) FILTER (WHERE rw_outcome(status) = 'bad') AS last_failure
FROM requests
WHERE ts >= $since AND ts < $until
  AND ($registry IS NULL OR registry = $registry)
  AND ($region IS NULL OR region = $region)
  AND ($repository IS NULL OR repository = $repository)
GROUP BY client_ip, user_agent
HAVING failures > 0
ORDER BY failures DESC, failure_ratio DESC, client_ip, user_agent
LIMIT $limit
