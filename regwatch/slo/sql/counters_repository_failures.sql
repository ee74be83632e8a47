-- regwatch_log_repository_failures_total{registry,region,repository}: bad requests (any route,
-- outcome 'bad' in classify.sql) that name a repository, all time; largest first. The exporter caps
-- the label cardinality (folding the rest into __other__).
SELECT registry, region, repository, count(*) AS value
FROM requests
WHERE repository IS NOT NULL AND rw_outcome(status) = 'bad'
GROUP BY ALL
ORDER BY value DESC, registry, region, repository;
