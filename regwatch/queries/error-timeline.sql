-- name: error-timeline
-- description: Requests per minute by HTTP status class around an incident (minutes without requests show zeros).
-- param: registry (text, optional): only this registry
-- param: region (text, optional): only this region
-- param: repository (text, optional): only this repository
-- param: route (text, optional): only this route (manifest, blob, token, ...)
WITH hits AS (
    SELECT date_trunc('minute', ts) AS minute, status
    FROM requests
    WHERE ts >= $since AND ts < $until
      AND ($registry IS NULL OR registry = $registry)
      AND ($region IS NULL OR region = $region)
      AND ($repository IS NULL OR repository = $repository)
      AND ($route IS NULL OR route = $route)
),
minutes AS (
    SELECT unnest(generate_series(min(minute), max(minute), INTERVAL 1 MINUTE)) AS minute FROM hits
)
SELECT m.minute,
       count(h.minute) AS requests,
       count(*) FILTER (WHERE h.status BETWEEN 200 AND 299) AS "2xx",
       count(*) FILTER (WHERE h.status BETWEEN 300 AND 399) AS "3xx",
       count(*) FILTER (WHERE h.status BETWEEN 400 AND 499 AND h.status NOT IN (401, 403, 429)) AS "4xx",
       count(*) FILTER (WHERE h.status IN (401, 403)) AS "401/403",
       count(*) FILTER (WHERE h.status = 429) AS "429",
       count(*) FILTER (WHERE h.status >= 500) AS "5xx",
       count(*) FILTER (WHERE h.minute IS NOT NULL AND (h.status IS NULL OR h.status < 200)) AS other
FROM minutes m
LEFT JOIN hits h USING (minute)
GROUP BY m.minute
ORDER BY m.minute
