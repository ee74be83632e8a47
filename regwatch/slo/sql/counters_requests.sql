-- regwatch_log_requests_total{registry,region,route,code}: every logged request, all time.
-- code is the HTTP status as text, 'unknown' when the log line had none.
SELECT registry, region, route, coalesce(CAST(status AS VARCHAR), 'unknown') AS code, count(*) AS value
FROM requests
GROUP BY ALL
ORDER BY ALL;
