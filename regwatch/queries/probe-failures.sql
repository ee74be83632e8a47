-- name: probe-failures
-- description: Failed probes by registry, region, auth path, kind and reason, with the last error seen.
-- param: registry (text, optional): only this registry
-- param: region (text, optional): only this region
-- param: auth_path (text, optional): only this auth path
WITH scoped AS (
    SELECT *
    FROM probe_results
    WHERE ts >= $since AND ts < $until
      AND ($registry IS NULL OR registry = $registry)
      AND ($region IS NULL OR region = $region)
      AND ($auth_path IS NULL OR auth_path = $auth_path)
),
totals AS (
    SELECT registry, region, auth_path, kind, count(*) AS probes FROM scoped GROUP BY ALL
)
SELECT f.registry, f.region, f.auth_path, f.kind, f.reason,
       count(*) AS failures,
       any_value(t.probes) AS probes,
       round(count(*) / any_value(t.probes), 6) AS failure_ratio,
       string_agg(DISTINCT CAST(f.status AS VARCHAR), ', ' ORDER BY CAST(f.status AS VARCHAR)) AS statuses,
       min(f.ts) AS first_failure,
       max(f.ts) AS last_failure,
       arg_max(f.error, f.ts) AS last_error
FROM scoped f
JOIN totals t USING (registry, region, auth_path, kind)
WHERE f.result = 'failure'
GROUP BY f.registry, f.region, f.auth_path, f.kind, f.reason
ORDER BY failures DESC, f.registry, f.region, f.auth_path, f.kind, f.reason
