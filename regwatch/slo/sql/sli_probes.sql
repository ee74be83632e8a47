-- SLIs from pull probes (probe_results.kind = 'pull') with ts in ($lo, $hi], one row per group
-- (docs/slis.md). $by: NULL (one row), 'registry', or 'region' | 'repository' | 'auth_path' within
-- the registry; with $per_day each group is split by UTC day (k_day, as in sli_logs.sql). A probe is
-- a first attempt by construction and every failure is bad (no exclusions: the canary exists and the
-- credentials are the registry's own). Manifest latency is the manifest phase of successful probes;
-- auth failures are probes failing 'unauthorized' or 'forbidden'; egress is the bytes the probes
-- downloaded. Probes do not push and see no cache status: NULL.
WITH prices AS (
    SELECT unnest($price_regions::VARCHAR[]) AS price_region, unnest($price_values::DOUBLE[]) AS usd_per_gib
),
r AS (
    SELECT
        CASE WHEN $per_day::BOOLEAN THEN date_trunc('day', ts - INTERVAL 1 MICROSECOND) END AS k_day,
        CASE WHEN $by::VARCHAR IS NOT NULL THEN registry END AS k_registry,
        CASE $by::VARCHAR
            WHEN 'region' THEN region WHEN 'repository' THEN repository WHEN 'auth_path' THEN auth_path
        END AS k_sub,
        region,
        result = 'success' AS good,
        reason IN ('unauthorized', 'forbidden') AS auth_failure,
        manifest_s,
        bytes
    FROM probe_results
    WHERE kind = 'pull' AND ts > $lo AND ts <= $hi
),
agg AS (
    SELECT
        k_day,
        k_registry,
        k_sub,
        count(*) FILTER (WHERE good) AS pulls_good,
        count(*) FILTER (WHERE NOT good) AS pulls_bad,
        quantile_cont(manifest_s, [0.5, 0.95, 0.99]) FILTER (WHERE good AND manifest_s IS NOT NULL) AS latency,
        count(*) FILTER (WHERE auth_failure) AS auth_failures,
        count(*) AS requests,
        coalesce(sum(bytes), 0) AS egress_bytes,
        coalesce(sum(bytes * coalesce(p.usd_per_gib, $default_price::DOUBLE)), 0) / 1073741824.0
            AS egress_cost_usd
    FROM r
    LEFT JOIN prices AS p ON r.region = p.price_region
    GROUP BY k_day, k_registry, k_sub
)
SELECT
    k_day,
    k_registry,
    k_sub,
    pulls_good,
    pulls_bad,
    0 AS pulls_excluded,
    rw_ratio(pulls_good, pulls_good + pulls_bad) AS pull_success_ratio,
    rw_ratio(pulls_good, pulls_good + pulls_bad) AS first_attempt_success_ratio,
    latency[1] AS manifest_latency_p50_seconds,
    latency[2] AS manifest_latency_p95_seconds,
    latency[3] AS manifest_latency_p99_seconds,
    auth_failures,
    rw_ratio(auth_failures, requests) AS auth_failure_ratio,
    egress_bytes,
    rw_ratio(egress_bytes, pulls_good) AS egress_bytes_per_pull,
    egress_cost_usd,
    NULL::DOUBLE AS cache_hit_ratio,
    NULL::DOUBLE AS push_success_ratio
FROM agg
ORDER BY k_day NULLS LAST, k_registry NULLS LAST, k_sub NULLS LAST;
