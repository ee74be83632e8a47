-- SLIs from logged requests with ts in ($lo, $hi], one row per group (docs/slis.md).
-- $by picks the grouping: NULL (one row), 'registry', 'region' or 'repository' (both within registry);
-- with $per_day each group is split by UTC day: k_day is the start of the day (d, d + 1 day] holding
-- the request (a request at exactly midnight belongs to the day before, as every range is (lo, hi]).
-- Requests are classified by the classify.sql macros, the retry rule read from the retry set $retries
-- (a table of rowids, regwatch.slo.classified); cost is each region's egress at the region's price
-- from the list ($price_regions, $price_values), else $default_price, summed over the regions.
--
-- Two steps, so the classification runs per kind of request rather than per request: `requests_alike`
-- counts the requests of each group that no definition can tell apart (same method, route, status,
-- cache status, region and retry verdict), with their bytes; `alike` classifies each such set once.
-- Egress of a set is rw_egress_bytes over its bytes (the macro passes a request's bytes through or
-- gives 0 by method, route and status, so it adds up). Latency percentiles need every duration:
-- `latency` reads the good pulls' durations in a pass of their own.
WITH prices AS (
    SELECT unnest($price_regions::VARCHAR[]) AS price_region, unnest($price_values::DOUBLE[]) AS usd_per_gib
),
r AS (
    SELECT
        CASE WHEN $per_day::BOOLEAN THEN date_trunc('day', c.ts - INTERVAL 1 MICROSECOND) END AS k_day,
        CASE WHEN $by::VARCHAR IS NOT NULL THEN c.registry END AS k_registry,
        CASE $by::VARCHAR WHEN 'region' THEN c.region WHEN 'repository' THEN c.repository END AS k_sub,
        c.region, c.method, c.route, c.status, c.cache_status, c.bytes_sent, c.duration_s,
        x.rid IS NOT NULL AS is_retry
    FROM requests AS c
    LEFT JOIN query_table($retries) AS x ON c.rowid = x.rid
    WHERE c.ts > $lo AND c.ts <= $hi
),
requests_alike AS (
    SELECT
        k_day, k_registry, k_sub, region, method, route, status, cache_status, is_retry,
        count(*) AS n,
        coalesce(sum(bytes_sent), 0) AS bytes
    FROM r
    GROUP BY ALL
),
alike AS (
    SELECT
        k_day, k_registry, k_sub, region, n,
        rw_kind(method, route) AS kind,
        rw_outcome(status) AS outcome,
        rw_attempt(rw_kind(method, route), is_retry) AS attempt,
        rw_egress_bytes(method, route, status, bytes) AS egress_bytes,
        rw_auth_failure(status) AS auth_failure,
        rw_cache(method, route, cache_status) AS cache
    FROM requests_alike
),
agg AS (
    SELECT
        k_day,
        k_registry,
        k_sub,
        coalesce(sum(n) FILTER (WHERE kind = 'pull' AND outcome = 'good'), 0)::BIGINT AS pulls_good,
        coalesce(sum(n) FILTER (WHERE kind = 'pull' AND outcome = 'bad'), 0)::BIGINT AS pulls_bad,
        coalesce(sum(n) FILTER (WHERE kind = 'pull' AND outcome = 'excluded'), 0)::BIGINT AS pulls_excluded,
        coalesce(sum(n) FILTER (WHERE kind = 'pull' AND outcome = 'good' AND attempt = 'first'), 0)::BIGINT
            AS first_good,
        coalesce(sum(n) FILTER (WHERE kind = 'pull' AND outcome = 'bad' AND attempt = 'first'), 0)::BIGINT
            AS first_bad,
        coalesce(sum(n) FILTER (WHERE auth_failure), 0)::BIGINT AS auth_failures,
        sum(n)::BIGINT AS requests,
        coalesce(sum(egress_bytes), 0) AS egress_bytes,
        coalesce(sum(n) FILTER (WHERE cache = 'hit'), 0)::BIGINT AS cache_hits,
        coalesce(sum(n) FILTER (WHERE cache IS NOT NULL), 0)::BIGINT AS cache_lookups,
        coalesce(sum(n) FILTER (WHERE kind = 'push' AND outcome = 'good'), 0)::BIGINT AS pushes_good,
        coalesce(sum(n) FILTER (WHERE kind = 'push' AND outcome = 'bad'), 0)::BIGINT AS pushes_bad
    FROM alike
    GROUP BY k_day, k_registry, k_sub
),
-- cost: each region's egress bytes (exact integers) at the region's price, added up in region order
region_egress AS (
    SELECT k_day, k_registry, k_sub, region, sum(egress_bytes) AS egress_bytes
    FROM alike
    GROUP BY ALL
),
cost AS (
    SELECT
        k_day,
        k_registry,
        k_sub,
        coalesce(sum(egress_bytes * coalesce(p.usd_per_gib, $default_price::DOUBLE) ORDER BY region), 0)
            / 1073741824.0 AS egress_cost_usd
    FROM region_egress
    LEFT JOIN prices AS p ON region_egress.region = p.price_region
    GROUP BY k_day, k_registry, k_sub
),
latency AS (
    SELECT
        CASE WHEN $per_day::BOOLEAN THEN date_trunc('day', ts - INTERVAL 1 MICROSECOND) END AS k_day,
        CASE WHEN $by::VARCHAR IS NOT NULL THEN registry END AS k_registry,
        CASE $by::VARCHAR WHEN 'region' THEN region WHEN 'repository' THEN repository END AS k_sub,
        quantile_cont(duration_s, [0.5, 0.95, 0.99]) AS latency
    FROM requests
    WHERE ts > $lo AND ts <= $hi
        AND rw_is_pull(method, route) AND rw_outcome(status) = 'good' AND duration_s IS NOT NULL
    GROUP BY ALL
)
SELECT
    agg.k_day,
    agg.k_registry,
    agg.k_sub,
    pulls_good,
    pulls_bad,
    pulls_excluded,
    rw_ratio(pulls_good, pulls_good + pulls_bad) AS pull_success_ratio,
    rw_ratio(first_good, first_good + first_bad) AS first_attempt_success_ratio,
    latency[1] AS manifest_latency_p50_seconds,
    latency[2] AS manifest_latency_p95_seconds,
    latency[3] AS manifest_latency_p99_seconds,
    auth_failures,
    rw_ratio(auth_failures, requests) AS auth_failure_ratio,
    egress_bytes,
    rw_ratio(egress_bytes, pulls_good) AS egress_bytes_per_pull,
    egress_cost_usd,
    rw_ratio(cache_hits, cache_lookups) AS cache_hit_ratio,
    rw_ratio(pushes_good, pushes_good + pushes_bad) AS push_success_ratio
FROM agg
JOIN cost AS c
    ON agg.k_day IS NOT DISTINCT FROM c.k_day
    AND agg.k_registry IS NOT DISTINCT FROM c.k_registry
    AND agg.k_sub IS NOT DISTINCT FROM c.k_sub
LEFT JOIN latency AS l
    ON agg.k_day IS NOT DISTINCT FROM l.k_day
    AND agg.k_registry IS NOT DISTINCT FROM l.k_registry
    AND agg.k_sub IS NOT DISTINCT FROM l.k_sub
ORDER BY agg.k_day NULLS LAST, agg.k_registry NULLS LAST, agg.k_sub NULLS LAST;
