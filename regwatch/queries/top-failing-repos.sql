-- name: top-failing-repos
-- description: Repositories with the most failed requests (5xx, 429: bad as in docs/slis.md), with their failure ratio.
-- param: registry (text, optional): only this registry
-- param: region (text, optional): only this region
-- param: limit (int, default 20): rows to return
--
-- A failure is a request whose outcome is bad (rw_outcome of the SLO engine's classify.sql: 5xx, 429,
-- and requests the server did not complete, nginx 444/499). Other 4xx (not found, denied) are the
-- client's and shown apart as client_errors.
SELECT repository,
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
  AND repository IS NOT NULL
  AND ($registry IS NULL OR registry = $registry)
  AND ($region IS NULL OR region = $region)
GROUP BY repository
HAVING failures > 0
ORDER BY failures DESC, failure_ratio DESC, repository
LIMIT $limit
