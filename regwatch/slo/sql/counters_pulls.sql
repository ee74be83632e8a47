-- regwatch_log_pulls_total{registry,region,class,attempt}: pulls by class (good, bad, excluded)
-- and attempt (first, retry), all time, classified by rw_requests (classify.sql).
SELECT registry, region, outcome AS class, attempt, count(*) AS value
FROM rw_requests($lookback, $lo, $hi, $retry_us)
WHERE kind = 'pull'
GROUP BY ALL
ORDER BY ALL;
