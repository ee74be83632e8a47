-- SLIs from logged requests with ts in ($lo, $hi], one row per group (docs/slis.md).
-- $by picks the grouping: NULL (one row), 'registry', 'region' or 'repository' (both within registry);
-- with $per_day each group is split by UTC day: k_day is the start of the day (d, d + 1 day] holding
-- the request (a request at exactly midnight belongs to the day before, as every range is (lo, hi]).
-- Requests are classified by rw_requests_with (classify.sql) over the retry set $retries; cost uses
-- the per-region price list ($price_regions, $price_values) and $default_price for regions without
-- their own price.
WITH prices AS (
    SELECT unnest($price_regions::VARCHAR[]) AS price_region, unnest($price_values::DOUBLE[]) AS usd_per_gib
),
r AS (
    SELECT
        CASE WHEN $per_day::BOOLEAN THEN date_trunc('day', ts - INTERVAL 1 MICROSECOND) END AS k_day,
        CASE WHEN $by::VARCHAR IS NOT NULL THEN registry END AS k_registry,
        CASE $by::VARCHAR WHEN 'region' THEN region WHEN 'repository' THEN repository END AS k_sub,
        c.*
    FROM rw_requests_with($retries, $lo, $hi) AS c
),
agg AS (
    SELECT
        k_day,
        k_registry,
        k_sub,
        count(*) FILTER (WHERE kind = 'pull' AND outcome = 'good') AS pulls_good,
        count(*) FILTER (WHERE kind = 'pull' AND outcome = 'bad') AS pulls_bad,
        count(*) FILTER (WHERE kind = 'pull' AND outcome = 'excluded') AS pulls_excluded,
        count(*) FILTER (WHERE kind = 'pull' AND outcome = 'good' AND attempt = 'first') AS first_good,
        count(*) FILTER (WHERE kind = 'pull' AND outcome = 'bad' AND attempt = 'first') AS first_bad,
        quantile_cont(duration_s, [0.5, 0.95, 0.99])
            FILTER (WHERE kind = 'pull' AND outcome = 'good' AND duration_s IS NOT NULL) AS latency,
        count(*) FILTER (WHERE auth_failure) AS auth_failures,
        count(*) AS requests,
        coalesce(sum(egress_bytes), 0) AS egress_bytes,
        coalesce(sum(egress_bytes * coalesce(p.usd_per_gib, $default_price::DOUBLE)), 0) / 1073741824.0
            AS egress_cost_usd,
        count(*) FILTER (WHERE cache = 'hit') AS cache_hits,
        count(*) FILTER (WHERE cache IS NOT NULL) AS cache_lookups,
        count(*) FILTER (WHERE kind = 'push' AND outcome = 'good') AS pushes_good,
        count(*) FILTER (WHERE kind = 'push' AND outcome = 'bad') AS pushes_bad
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
    pulls_excluded,
    CASE WHEN pulls_good + pulls_bad > 0 THEN pulls_good / (pulls_good + pulls_bad) END AS pull_success_ratio,
    CASE WHEN first_good + first_bad > 0 THEN first_good / (first_good + first_bad) END
        AS first_attempt_success_ratio,
    latency[1] AS manifest_latency_p50_seconds,
    latency[2] AS manifest_latency_p95_seconds,
    latency[3] AS manifest_latency_p99_seconds,
    auth_failures,
    CASE WHEN requests > 0 THEN auth_failures / requests END AS auth_failure_ratio,
    egress_bytes,
    CASE WHEN pulls_good > 0 THEN egress_bytes / pulls_good END AS egress_bytes_per_pull,
    egress_cost_usd,
    CASE WHEN cache_lookups > 0 THEN cache_hits / cache_lookups END AS cache_hit_ratio,
    CASE WHEN pushes_good + pushes_bad > 0 THEN pushes_good / (pushes_good + pushes_bad) END AS push_success_ratio
FROM agg
ORDER BY k_day NULLS LAST, k_registry NULLS LAST, k_sub NULLS LAST;
