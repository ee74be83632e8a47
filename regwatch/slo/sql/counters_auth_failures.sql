-- regwatch_log_auth_failures_total{registry,region}: requests answered 401 or 403, all time.
SELECT registry, region, count(*) AS value
FROM requests
WHERE rw_auth_failure(status)
GROUP BY ALL
ORDER BY ALL;
