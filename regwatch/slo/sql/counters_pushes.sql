-- regwatch_log_pushes_total{registry,region,class}: manifest PUTs by class, all time (classify.sql).
SELECT registry, region, rw_outcome(status) AS class, count(*) AS value
FROM requests
WHERE rw_kind(method, route) = 'push'
GROUP BY ALL
ORDER BY ALL;
